package dev.owl2j.runtime.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * n choices from one prefill and the penalty fields, through the official OpenAI Java SDK against the tiny fixture
 * (stand-in front end: generated ids are written "[id]"): each choice equals a separate generation with its own
 * seed stream, the prompt is prefilled once; penalized greedy decoding equals a plain loop that applies the
 * penalties from their definitions to the engine's raw logits.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ChoicesAndPenaltiesTest {
    static OpenAiServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = new OpenAiServer(new StubModel(-1), ServerOptions.defaults().withPort(0).withBatch(4, 16)).start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("unused").maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
    }

    static int[] ids(String text) {
        List<Integer> out = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\[(\\d+)]").matcher(text);
        while (m.find()) out.add(Integer.parseInt(m.group(1)));
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Generation on the engine directly, from a fresh prefill (no fork), with the choice's own parameters. */
    static int[] direct(int[] prompt, SamplingParams params) {
        Engine engine = TinyFixture.engine();
        try (Engine.Session s = engine.newSession()) {
            float[] logits = s.prefill(prompt, List.of());
            return Generator.generate(s, prompt, logits, params, -1, TinyFixture.idText(), null, null).tokens();
        }
    }

    static long metric(String name) {
        for (String line : server.scheduler().metrics().render().split("\n")) {
            if (line.startsWith(name + " ")) return Long.parseLong(line.substring(name.length() + 1).trim());
        }
        return -1;
    }

    @Test
    void nChoicesComeFromOnePrefillEachWithItsOwnSeedStream() {
        long promptBefore = metric("owl2j_prompt_tokens_total");
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny-owl2-f16")
                .addUserMessage("What is the capital of France?").n(3).temperature(1.0).seed(5).maxCompletionTokens(8).build());
        assertEquals(3, c.choices().size());
        int[] prompt = TinyFixture.ids("prompt1");
        assertEquals(prompt.length, metric("owl2j_prompt_tokens_total") - promptBefore, "the prompt was prefilled once");
        assertEquals(prompt.length, c.usage().orElseThrow().promptTokens());
        assertEquals(24, c.usage().orElseThrow().completionTokens());
        SamplingParams base = new SamplingParams(1.0, 0, 1.0, 5L, 8, List.of());
        Set<String> texts = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            ChatCompletion.Choice choice = c.choices().get(i);
            assertEquals(i, choice.index());
            String text = choice.message().content().orElseThrow();
            assertArrayEquals(direct(prompt, base.forChoice(i)), ids(text), "choice " + i);
            texts.add(text);
        }
        assertEquals(3, texts.size(), "three seed streams, three different samples");
        // Choice 0 is what a single-choice request with the same seed gets.
        ChatCompletion one = client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny-owl2-f16")
                .addUserMessage("What is the capital of France?").temperature(1.0).seed(5).maxCompletionTokens(8).build());
        assertEquals(c.choices().get(0).message().content(), one.choices().get(0).message().content());
    }

    @Test
    void nChoicesStreamWithTheirIndex() {
        Map<Long, StringBuilder> texts = new HashMap<>();
        Map<Long, String> finish = new HashMap<>();
        try (var stream = client.chat().completions().createStreaming(ChatCompletionCreateParams.builder().model("tiny-owl2-f16")
                .addUserMessage("What is the capital of France?").n(2).temperature(0.9).seed(11).maxCompletionTokens(5).build())) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                ch.delta().content().ifPresent(t -> texts.computeIfAbsent(ch.index(), k -> new StringBuilder()).append(t));
                ch.finishReason().ifPresent(f -> finish.put(ch.index(), f.asString()));
            }));
        }
        int[] prompt = TinyFixture.ids("prompt1");
        SamplingParams base = new SamplingParams(0.9, 0, 1.0, 11L, 5, List.of());
        for (long i = 0; i < 2; i++) {
            assertArrayEquals(direct(prompt, base.forChoice((int) i)), ids(texts.get(i).toString()), "choice " + i);
            assertEquals("length", finish.get(i));
        }
    }

    /** The data lines of a server-sent-events answer, as JSON, without the final [DONE]. */
    static List<com.fasterxml.jackson.databind.JsonNode> events(String body) throws Exception {
        List<com.fasterxml.jackson.databind.JsonNode> out = new ArrayList<>();
        List<String> lines = body.lines().filter(l -> l.startsWith("data: ")).toList();
        assertEquals("data: [DONE]", lines.getLast());
        for (String l : lines.subList(0, lines.size() - 1)) out.add(Wire.JSON.readTree(l.substring(6)));
        return out;
    }

    @Test
    void streamedUsageIsNullUntilTheLastChunkWhichCountsEveryChoice() throws Exception {
        var r = Wire.post(server.port(), "/v1/chat/completions", "{\"model\":\"tiny-owl2-f16\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"What is the capital of France?\"}],\"n\":2,\"max_tokens\":3,\"temperature\":0.9,\"seed\":2,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals(200, r.statusCode(), r.body());
        List<com.fasterxml.jackson.databind.JsonNode> chunks = events(r.body());
        int tokens = 0;
        for (var c : chunks.subList(0, chunks.size() - 1)) {
            assertTrue(c.has("usage") && c.get("usage").isNull(), "usage: null in " + c);
            assertEquals(1, c.get("choices").size());
            tokens += ids(c.get("choices").get(0).path("delta").path("content").asText("")).length;
        }
        var last = chunks.getLast();
        assertEquals(0, last.get("choices").size(), "the usage chunk has no choices");
        assertEquals(6, tokens, "two choices of three tokens");
        assertEquals(tokens, last.get("usage").get("completion_tokens").asInt());
        assertEquals(TinyFixture.ids("prompt1").length, last.get("usage").get("prompt_tokens").asInt(), "the prompt counts once");
        assertEquals(tokens + TinyFixture.ids("prompt1").length, last.get("usage").get("total_tokens").asInt());
        // without include_usage there is no usage field at all
        var plain = Wire.post(server.port(), "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\","
                + "\"content\":\"What is the capital of France?\"}],\"max_tokens\":2,\"stream\":true}");
        for (var c : events(plain.body())) assertTrue(!c.has("usage"), c.toString());
    }

    /** Greedy decoding with the penalties applied from their definitions to the engine's raw logits. */
    static int[] referencePenalized(int[] prompt, int steps, double presence, double frequency, double repetition) {
        Engine engine = TinyFixture.engine();
        List<Integer> reply = new ArrayList<>();
        try (Engine.Session s = engine.newSession()) {
            float[] logits = s.prefill(prompt, List.of());
            for (int n = 0; n < steps; n++) {
                double[] x = new double[logits.length];
                for (int i = 0; i < x.length; i++) x[i] = logits[i];
                Set<Integer> seen = new HashSet<>(reply);
                for (int id : prompt) seen.add(id);
                for (int id : seen) x[id] = x[id] < 0 ? x[id] * repetition : x[id] / repetition;   // transformers
                Map<Integer, Integer> c = new HashMap<>();
                for (int id : reply) c.merge(id, 1, Integer::sum);
                for (var e : c.entrySet()) x[e.getKey()] -= e.getValue() * frequency + presence;      // OpenAI
                int best = 0;
                for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
                reply.add(best);
                logits = s.step(best);
            }
        }
        return reply.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void penaltiesEqualTheirReferenceDefinitions() {
        int[] prompt = TinyFixture.ids("prompt1");
        int[] plain = TinyFixture.goldenGreedy("prompt1");
        double[][] settings = {{1.5, 0, 1}, {0, 1.5, 1}, {0, 0, 1.8}, {0.5, 0.8, 1.2}, {-1, -1, 0.7}};
        boolean changed = false;
        for (double[] s : settings) {
            ChatCompletionCreateParams.Builder b = ChatCompletionCreateParams.builder().model("tiny-owl2-f16")
                    .addUserMessage("What is the capital of France?").temperature(0.0).maxCompletionTokens(8)
                    .presencePenalty(s[0]).frequencyPenalty(s[1]);
            if (s[2] != 1) b.putAdditionalBodyProperty("repetition_penalty", JsonValue.from(s[2]));
            int[] got = ids(client.chat().completions().create(b.build()).choices().get(0).message().content().orElseThrow());
            assertArrayEquals(referencePenalized(prompt, 8, s[0], s[1], s[2]), got, java.util.Arrays.toString(s));
            changed |= !java.util.Arrays.equals(plain, got);
        }
        assertTrue(changed, "the penalties changed the fixture's greedy output in at least one setting");
        assertNotEquals(0, plain.length);
    }

    @Test
    void logitBiasForcesAndBansTokens() {
        int[] golden = TinyFixture.goldenGreedy("prompt1");
        ChatCompletion banned = client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny-owl2-f16")
                .addUserMessage("What is the capital of France?").temperature(0.0).maxCompletionTokens(8)
                .logitBias(ChatCompletionCreateParams.LogitBias.builder().putAdditionalProperty(Integer.toString(golden[0]), JsonValue.from(-100)).build())
                .build());
        assertNotEquals(golden[0], ids(banned.choices().get(0).message().content().orElseThrow())[0]);
        ChatCompletion forced = client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny-owl2-f16")
                .addUserMessage("What is the capital of France?").temperature(0.7).seed(1).maxCompletionTokens(4)
                .logitBias(ChatCompletionCreateParams.LogitBias.builder().putAdditionalProperty("777", JsonValue.from(100)).build())
                .build());
        assertArrayEquals(new int[]{777, 777, 777, 777}, ids(forced.choices().get(0).message().content().orElseThrow()));
    }
}
