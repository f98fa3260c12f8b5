package dev.owl2j.runtime.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.config.PreprocessorConfig;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server with the project's real front end (LLaMA-2 tokenizer from testdata/tokenizer, mplug_owl2 chat
 * template, Pillow-exact image preprocessing) on the tiny fixture, driven by the official OpenAI Java SDK:
 * the chat request with image0 renders to exactly the fixture's prompt0 ids, and the reply is the decoded
 * golden greedy tokens, equal to a direct engine run; the same through streaming.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RealFrontEndTest {
    static TokenizedModel model;
    static OpenAiServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        Tokenizer tokenizer = Tokenizer.load(TinyFixture.testdata().resolve("tokenizer/llama2-tokenizer.json.gz"));
        ImagePreprocessor pre = new ImagePreprocessor(PreprocessorConfig.read(TinyFixture.DIR.resolve("preprocessor_config.json")));
        GenerationConfig gen = GenerationConfig.readOrDefault(TinyFixture.DIR.resolve("generation_config.json"));
        model = new TokenizedModel("tiny-owl2-f16", TinyFixture.engine(), tokenizer, pre, gen, AspectMode.PAD);
        server = new OpenAiServer(model, ServerOptions.defaults().withPort(0).withBatch(4, 8)).start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
    }

    static Tokenizer tokenizer() {
        return Tokenizer.load(TinyFixture.testdata().resolve("tokenizer/llama2-tokenizer.json.gz"));
    }

    @Test
    void theChatRequestRendersToTheFixturePromptAndAnswersTheGolden() {
        String rendered = model.renderChat(List.of(new ServerModel.Turn("user", "<|image|>Describe the image.")));
        assertEquals("USER: <|image|>Describe the image. ASSISTANT:", rendered);
        assertArrayEquals(TinyFixture.ids("prompt0"), model.encodePrompt(rendered), "front end vs the fixture's prompt0 ids");

        // Direct engine run with the real preprocessor's pixels.
        Engine engine = model.engine();
        Engine.Session s = engine.newSession();
        float[] logits = s.prefill(model.encodePrompt(rendered),
                List.of(engine.encodeImage(model.pixelValues(StubModel.IMAGE0, "image0.png"))));
        Generator.Result direct = Generator.generate(s, logits, SamplingParams.greedy(8), model.eosId(), model.newTextStream(), null, null);
        int[] golden = TinyFixture.goldenGreedy("prompt0");
        assertArrayEquals(golden, direct.tokens(), "direct run vs golden");
        String goldenText = tokenizer().decode(golden);
        assertEquals(goldenText, direct.text());

        ChatCompletion c = client.chat().completions().create(OpenAiSdkTest.imageRequest(8));
        assertEquals(goldenText, c.choices().get(0).message().content().orElseThrow());
        assertEquals(80, c.usage().orElseThrow().promptTokens());

        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(OpenAiSdkTest.imageRequest(8))) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
        }
        assertEquals(goldenText, streamed.toString());
    }

    @Test
    void aSystemMessageAndATextOnlyTurnRenderThroughTheTemplate() {
        assertEquals("USER: Be brief.\nWhat is the capital of France? ASSISTANT:", model.renderChat(List.of(
                new ServerModel.Turn("system", "Be brief."), new ServerModel.Turn("user", "What is the capital of France?"))));
        // prompt1 of the fixture is this question without the system text.
        assertArrayEquals(TinyFixture.ids("prompt1"), model.encodePrompt(model.renderChat(List.of(
                new ServerModel.Turn("user", "What is the capital of France?")))));
    }

    @Test
    void aFifteenMegabyteTextIsRefusedBeforeTheTokenizerSeesIt() throws Exception {
        // With the real LLaMA vocabulary the length bound alone refuses it (the test would take minutes and
        // gigabytes if the text were tokenized, as it was before the bound).
        for (String filler : new String[]{"a", " "}) {
            String text = filler.repeat((15 << 20) / filler.length());
            java.net.http.HttpResponse<String> r = Wire.post(server.port(), "/v1/chat/completions", Wire.chat(
                    Wire.JSON.writeValueAsString(text), "\"max_tokens\":1"));
            Wire.assertApiError(400, "context_length_exceeded", "the context holds 2048", r.statusCode(), r.body());
            assertTrue(Wire.JSON.readTree(r.body()).get("error").get("message").asText().startsWith("the prompt is at least "), r.body());
        }
        assertTrue(model.tokenLowerBound("x".repeat(15 << 20)) >= 2048);
    }
}
