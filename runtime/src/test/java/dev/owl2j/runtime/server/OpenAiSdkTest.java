package dev.owl2j.runtime.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.models.Model;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official OpenAI Java SDK against a server running the tiny fixture: a chat request with image0 as a
 * data URI gets the same greedy tokens as a direct engine run of the same prompt and as the fixture's
 * golden (the request renders to the fixture's prompt0), plain and streamed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OpenAiSdkTest {
    static OpenAiServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = new OpenAiServer(new StubModel(2), ServerOptions.defaults().withPort(0).withBatch(4, 8)).start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
    }

    static ChatCompletionCreateParams imageRequest(int maxTokens) {
        String dataUri = "data:image/png;base64," + Base64.getEncoder().encodeToString(StubModel.IMAGE0);
        return ChatCompletionCreateParams.builder()
                .model("tiny-owl2-f16")
                .addUserMessageOfArrayOfContentParts(List.of(
                        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder()
                                .imageUrl(ChatCompletionContentPartImage.ImageUrl.builder().url(dataUri).build()).build()),
                        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("Describe the image.").build())))
                .maxCompletionTokens(maxTokens)
                .temperature(0.0)
                .build();
    }

    /** The same prompt run on the engine directly, through the plain generation loop. */
    static Generator.Result direct(int maxTokens) {
        StubModel m = new StubModel(2);
        Engine engine = m.engine();
        Engine.Session s = engine.newSession();
        float[] logits = s.prefill(m.encodePrompt(StubModel.PROMPT0), List.of(engine.encodeImage(m.pixelValues(StubModel.IMAGE0, "image0"))));
        return Generator.generate(s, logits, SamplingParams.greedy(maxTokens), 2, m.newTextStream(), null, null);
    }

    static String goldenText() {
        StringBuilder b = new StringBuilder();
        for (int id : TinyFixture.goldenGreedy("prompt0")) b.append('[').append(id).append(']');
        return b.toString();
    }

    @Test
    void chatWithAnImageGivesTheDirectRunsGreedyTokens() {
        ChatCompletion c = client.chat().completions().create(imageRequest(8));
        String text = c.choices().get(0).message().content().orElseThrow();
        assertEquals(direct(8).text(), text);
        assertEquals(goldenText(), text, "vs the fixture's prompt0 golden");
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, c.choices().get(0).finishReason());
        assertEquals(8, c.usage().orElseThrow().completionTokens());
        assertEquals(80, c.usage().orElseThrow().promptTokens());
        assertEquals("tiny-owl2-f16", c.model());
    }

    @Test
    void streamingThroughTheSdkGivesTheSameText() {
        StringBuilder text = new StringBuilder();
        List<String> finish = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(imageRequest(8))) {
            stream.stream().forEach(chunk -> {
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().content().ifPresent(text::append);
                    ch.finishReason().ifPresent(f -> finish.add(f.asString()));
                }
            });
        }
        assertEquals(goldenText(), text.toString());
        assertEquals(List.of("length"), finish);
    }

    @Test
    void modelsListsTheModelAndErrorsArriveAsOpenAiErrors() {
        List<Model> models = client.models().list().data();
        assertEquals(1, models.size());
        assertEquals("tiny-owl2-f16", models.get(0).id());
        BadRequestException e = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                ChatCompletionCreateParams.builder().model("tiny-owl2-f16").addUserMessage("hi").n(9).build()));
        assertEquals(400, e.statusCode());
        assertTrue(e.getMessage().contains("n must be an integer from 1 to 4"), e.getMessage());
    }
}
