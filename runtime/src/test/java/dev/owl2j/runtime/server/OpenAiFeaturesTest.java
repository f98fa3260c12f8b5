package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.config.PreprocessorConfig;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.json.SchemaValidator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Log-probabilities, /v1/completions, structured output and model names through the official OpenAI Java SDK,
 * against the tiny fixture with the real LLaMA-2 tokenizer (a random model at the 7B vocabulary): chat
 * logprobs equal /v1/score's for the same continuation and a recomputation from scratch; echoed prompt logprobs
 * equal a recomputation; constrained output is JSON valid against the schema (checked by an independent
 * validator); unknown model names are 404 model_not_found.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class OpenAiFeaturesTest {
    static TokenizedModel model;
    static Tokenizer tokenizer;
    static OpenAiServer server;
    static OpenAIClient client;
    static final String NAME = "tiny-owl2-f16";

    @BeforeAll
    static void start() {
        tokenizer = Tokenizer.load(TinyFixture.testdata().resolve("tokenizer/llama2-tokenizer.json.gz"));
        ImagePreprocessor pre = new ImagePreprocessor(PreprocessorConfig.read(TinyFixture.DIR.resolve("preprocessor_config.json")));
        GenerationConfig gen = GenerationConfig.readOrDefault(TinyFixture.DIR.resolve("generation_config.json"));
        model = new TokenizedModel(NAME, TinyFixture.engine(), tokenizer, pre, gen, AspectMode.PAD);
        server = new OpenAiServer(model, ServerOptions.defaults().withPort(0).withBatch(4, 16).withModelNames(List.of(NAME, "owl-alias"))).start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
    }

    /** log softmax of the logits after prompt + continuation[0..j), from a fresh prefill each time. */
    static double[] recomputed(int[] prompt, int[] continuation) {
        Engine engine = TinyFixture.engine();
        double[] out = new double[continuation.length];
        for (int j = 0; j < continuation.length; j++) {
            int[] ids = Arrays.copyOf(prompt, prompt.length + j);
            System.arraycopy(continuation, 0, ids, prompt.length, j);
            float[] logits;
            try (Engine.Session s = engine.newSession()) {
                logits = s.prefill(ids, List.of());
            }
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits) max = Math.max(max, l);
            double sum = 0;
            for (float l : logits) sum += Math.exp(l - max);
            out[j] = logits[continuation[j]] - max - Math.log(sum);
        }
        return out;
    }

    static int id(String piece) {
        for (int i = 0; i < tokenizer.vocabSize(); i++) if (tokenizer.piece(i).equals(piece)) return i;
        throw new AssertionError(piece);
    }

    static ChatCompletionCreateParams.Builder chat(String text) {
        return ChatCompletionCreateParams.builder().model(NAME).addUserMessage(text);
    }

    @Test
    void chatLogprobsMatchScoreAndARecomputation() throws Exception {
        int hello = id("▁Hello"), world = id("▁world");
        ChatCompletionCreateParams p = chat("Say hello.").temperature(0.0).maxCompletionTokens(6).logprobs(true).topLogprobs(5)
                .logitBias(ChatCompletionCreateParams.LogitBias.builder().putAdditionalProperty(Integer.toString(hello), JsonValue.from(100))
                        .putAdditionalProperty(Integer.toString(world), JsonValue.from(100)).build()).build();
        ChatCompletion c = client.chat().completions().create(p);
        List<ChatCompletionTokenLogprob> lps = c.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        assertEquals(6, lps.size());
        int[] ids = new int[6];
        for (int k = 0; k < 6; k++) {
            ChatCompletionTokenLogprob t = lps.get(k);
            ids[k] = t.token().equals(" Hello") ? hello : world;
            assertTrue(t.token().equals(" Hello") || t.token().equals(" world"), t.token());
            assertEquals(List.of((long) ' '), t.bytes().orElseThrow().subList(0, 1));
            assertEquals(5, t.topLogprobs().size());
            for (int j = 1; j < 5; j++) assertTrue(t.topLogprobs().get(j - 1).logprob() >= t.topLogprobs().get(j).logprob());
            assertTrue(t.topLogprobs().get(0).logprob() >= t.logprob(), "the raw distribution's best is at least the chosen one");
        }
        String text = c.choices().get(0).message().content().orElseThrow();
        // the same continuation through /v1/score
        HttpResponse<String> r = Wire.post(server.port(), "/v1/score", "{\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}],"
                + "\"candidates\":[" + Wire.JSON.writeValueAsString(" " + text) + "]}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode s = Wire.JSON.readTree(r.body()).get("scores").get(0);
        int[] scored = new int[s.get("token_ids").size()];
        for (int k = 0; k < scored.length; k++) scored[k] = s.get("token_ids").get(k).asInt();
        assertArrayEquals(ids, scored, "the candidate tokenizes to the generated tokens");
        int[] prompt = model.encodePrompt(model.renderChat(List.of(new ServerModel.Turn("user", "Say hello."))));
        double[] fresh = recomputed(prompt, ids);
        for (int k = 0; k < 6; k++) {
            assertEquals(s.get("token_logprobs").get(k).asDouble(), lps.get(k).logprob(), 1e-4, "vs /v1/score, token " + k);
            assertEquals(fresh[k], lps.get(k).logprob(), 1e-4, "vs a fresh prefill, token " + k);
        }
        // Streamed, the same log-probabilities arrive chunk by chunk.
        List<Double> streamed = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> st = client.chat().completions().createStreaming(p)) {
            st.stream().forEach(ch -> ch.choices().forEach(x -> x.logprobs().flatMap(ChatCompletionChunk.Choice.Logprobs::content)
                    .ifPresent(list -> list.forEach(t -> streamed.add(t.logprob())))));
        }
        assertEquals(6, streamed.size());
        for (int k = 0; k < 6; k++) assertEquals(lps.get(k).logprob(), streamed.get(k), 1e-9);
    }

    @Test
    void echoedPromptLogprobsMatchARecomputation() throws Exception {
        // As evaluation harnesses score a continuation: token ids, echo, logprobs, max_tokens 0. (Raw HTTP: the
        // first token's log-probability is null, which a typed client cannot hold in a list of numbers.)
        int[] prompt = tokenizer.encode("The quick brown fox jumps over the lazy dog", true);
        HttpResponse<String> r = Wire.post(server.port(), "/v1/completions", "{\"model\":\"" + NAME + "\",\"prompt\":"
                + Arrays.toString(prompt) + ",\"max_tokens\":0,\"echo\":true,\"logprobs\":3}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode c = Wire.JSON.readTree(r.body());
        JsonNode choice = c.get("choices").get(0);
        assertEquals("The quick brown fox jumps over the lazy dog", choice.get("text").asText());
        assertEquals("length", choice.get("finish_reason").asText());
        JsonNode lp = choice.get("logprobs");
        assertEquals(prompt.length, lp.get("tokens").size());
        assertEquals(" quick", lp.get("tokens").get(2).asText());
        assertTrue(lp.get("token_logprobs").get(0).isNull(), "the first token has nothing before it");
        assertTrue(lp.get("top_logprobs").get(0).isNull());
        double[] fresh = recomputed(new int[]{prompt[0]}, Arrays.copyOfRange(prompt, 1, prompt.length));
        for (int k = 1; k < prompt.length; k++) {
            assertEquals(fresh[k - 1], lp.get("token_logprobs").get(k).asDouble(), 1e-4, "token " + k);
            assertTrue(lp.get("top_logprobs").get(k).size() <= 3 && lp.get("top_logprobs").get(k).size() >= 1);
        }
        for (int k = 1; k < prompt.length; k++) assertTrue(lp.get("text_offset").get(k).asInt() >= lp.get("text_offset").get(k - 1).asInt());
        assertEquals(0, c.get("usage").get("completion_tokens").asInt());
        assertEquals(prompt.length, c.get("usage").get("prompt_tokens").asInt());
        // The same through the SDK with a text prompt (it adds BOS, as the tokenizer does): the same values.
        Completion sdk = client.completions().create(CompletionCreateParams.builder().model(NAME)
                .prompt("The quick brown fox jumps over the lazy dog").maxTokens(1).temperature(0.0).echo(true).build());
        assertTrue(sdk.choices().get(0).text().startsWith("The quick brown fox jumps over the lazy dog"));
    }

    @Test
    void completionsGenerateLikeTheEngineWithStopsAndStreaming() throws Exception {
        String text = "Once upon a time";
        int[] prompt = tokenizer.encode(text, true);
        Generator.Result direct;
        try (Engine.Session s = TinyFixture.engine().newSession()) {
            float[] logits = s.prefill(prompt, List.of());
            direct = Generator.generate(s, logits, SamplingParams.greedy(8), model.eosId(), model.newTextStream(), null, null);
        }
        Completion c = client.completions().create(CompletionCreateParams.builder().model(NAME).prompt(text).maxTokens(8).temperature(0.0)
                .logprobs(2).build());
        assertEquals(direct.text(), c.choices().get(0).text());
        CompletionChoice.Logprobs lp = c.choices().get(0).logprobs().orElseThrow();
        assertEquals(direct.tokens().length, lp.tokens().orElseThrow().size());
        lp.topLogprobs().orElseThrow().forEach(t -> assertTrue(t._additionalProperties().size() <= 2));
        // A stop string cuts the text before it.
        String stop = direct.text().substring(direct.text().length() / 2, direct.text().length() / 2 + 2);
        Completion stopped = client.completions().create(CompletionCreateParams.builder().model(NAME).prompt(text).maxTokens(8)
                .temperature(0.0).stop(stop).build());
        assertEquals(direct.text().substring(0, direct.text().indexOf(stop)), stopped.choices().get(0).text());
        assertEquals(CompletionChoice.FinishReason.STOP, stopped.choices().get(0).finishReason());
        // Streamed: the same text; two prompts times n = 2 give four indexed choices.
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> st = client.completions().createStreaming(CompletionCreateParams.builder().model(NAME)
                .prompt(text).maxTokens(8).temperature(0.0).build())) {
            st.stream().forEach(ch -> ch.choices().forEach(x -> streamed.append(x.text())));
        }
        assertEquals(direct.text(), streamed.toString());
        // With include_usage: "usage": null in every chunk but the last, which counts the prompt and the tokens.
        HttpResponse<String> raw = Wire.post(server.port(), "/v1/completions", "{\"prompt\":" + Wire.JSON.writeValueAsString(text)
                + ",\"max_tokens\":8,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        List<JsonNode> chunks = ChoicesAndPenaltiesTest.events(raw.body());
        for (JsonNode ch : chunks.subList(0, chunks.size() - 1)) assertTrue(ch.has("usage") && ch.get("usage").isNull(), ch.toString());
        JsonNode usage = chunks.getLast().get("usage");
        assertEquals(0, chunks.getLast().get("choices").size());
        assertEquals(prompt.length, usage.get("prompt_tokens").asInt());
        assertEquals(direct.tokens().length, usage.get("completion_tokens").asInt());
        Completion many = client.completions().create(CompletionCreateParams.builder().model(NAME)
                .prompt(CompletionCreateParams.Prompt.ofArrayOfStrings(List.of(text, "Hello"))).n(2).maxTokens(3).temperature(0.0).echo(true).build());
        assertEquals(4, many.choices().size());
        for (int i = 0; i < 4; i++) {
            assertEquals(i, many.choices().get(i).index());
            assertTrue(many.choices().get(i).text().startsWith(i < 2 ? text : "Hello"));
        }
        assertEquals(many.choices().get(0).text(), many.choices().get(1).text(), "greedy choices agree");
    }

    static final String PERSON = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":20},"
            + "\"age\":{\"type\":\"integer\"},\"pets\":{\"type\":\"array\",\"items\":{\"enum\":[\"cat\",\"dog\"]},\"maxItems\":3},"
            + "\"vip\":{\"type\":\"boolean\"}},\"required\":[\"name\",\"age\",\"pets\",\"vip\"],\"additionalProperties\":false}";

    static ResponseFormatJsonSchema schemaFormat(String schema) throws Exception {
        ResponseFormatJsonSchema.JsonSchema.Schema.Builder b = ResponseFormatJsonSchema.JsonSchema.Schema.builder();
        @SuppressWarnings("unchecked")
        Map<String, Object> m = Wire.JSON.readValue(schema, Map.class);
        m.forEach((k, v) -> b.putAdditionalProperty(k, JsonValue.from(v)));
        return ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder().name("person")
                .schema(b.build()).strict(true).build()).build();
    }

    @Test
    void structuredOutputIsValidJsonOfTheSchema() throws Exception {
        JsonNode schema = Wire.JSON.readTree(PERSON);
        for (int seed = 0; seed < 4; seed++) {
            ChatCompletion c = client.chat().completions().create(chat("Describe a person as JSON.").temperature(1.0).seed(seed)
                    .maxCompletionTokens(120).responseFormat(schemaFormat(PERSON)).build());
            String text = c.choices().get(0).message().content().orElseThrow();
            assertEquals(ChatCompletion.Choice.FinishReason.STOP, c.choices().get(0).finishReason(), text);
            SchemaValidator.validate(Wire.JSON.readTree(text), schema);
        }
        // json_object: any object, also streamed and with n choices
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> st = client.chat().completions().createStreaming(chat("JSON please").temperature(1.0)
                .seed(9).maxCompletionTokens(60).responseFormat(ResponseFormatJsonObject.builder().build()).build())) {
            st.stream().forEach(ch -> ch.choices().forEach(x -> x.delta().content().ifPresent(streamed::append)));
        }
        assertTrue(Wire.JSON.readTree(streamed.toString()).isObject(), streamed.toString());
        ChatCompletion n = client.chat().completions().create(chat("JSON please").temperature(1.0).seed(3).n(3)
                .maxCompletionTokens(40).responseFormat(ResponseFormatJsonObject.builder().build()).build());
        for (ChatCompletion.Choice ch : n.choices()) assertTrue(Wire.JSON.readTree(ch.message().content().orElseThrow()).isObject());
    }

    @Test
    void modelIdsAreNamesAndUnknownOnesAre404() throws Exception {
        assertEquals(List.of(NAME, "owl-alias"), client.models().list().data().stream().map(com.openai.models.models.Model::id).toList());
        assertEquals("owl-alias", client.models().retrieve("owl-alias").id());
        ChatCompletion viaAlias = client.chat().completions().create(ChatCompletionCreateParams.builder().model("owl-alias")
                .addUserMessage("hi").maxCompletionTokens(1).build());
        assertEquals(NAME, viaAlias.model());
        NotFoundException e = assertThrows(NotFoundException.class, () -> client.chat().completions().create(
                ChatCompletionCreateParams.builder().model("gpt-4o").addUserMessage("hi").build()));
        assertEquals(404, e.statusCode());
        assertTrue(e.getMessage().contains("the model 'gpt-4o' does not exist"), e.getMessage());
        HttpResponse<String> raw = Wire.post(server.port(), "/v1/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        Wire.assertApiError(404, "model_not_found", "does not exist", raw.statusCode(), raw.body());
        assertThrows(NotFoundException.class, () -> client.completions().create(CompletionCreateParams.builder().model("/models/x").prompt("a").build()));
        assertThrows(NotFoundException.class, () -> client.models().retrieve("nope"));
        HttpResponse<String> score = Wire.post(server.port(), "/v1/score", "{\"model\":\"other\",\"prompt\":\"a\",\"candidates\":[\"b\"]}");
        Wire.assertApiError(404, "model_not_found", "does not exist", score.statusCode(), score.body());
        assertEquals("model", Wire.JSON.readTree(score.body()).get("error").get("param").asText());
    }
}
