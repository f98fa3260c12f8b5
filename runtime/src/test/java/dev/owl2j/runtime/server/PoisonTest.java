package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.NonFiniteLogitsException;
import dev.owl2j.runtime.generation.SamplingParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Numerical poison: a model whose logits turn NaN (as a broken rms_norm_eps or image_std makes them) is
 * reported as such by the generation loop, the chat endpoint (plain and streamed) and /v1/score, never answered
 * as token -1 or an empty 200; a temperature of 1e-320 is greedy and answers what temperature 0 answers.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PoisonTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The tiny fixture, with every logit row replaced by {@code value} from decode step {@code fromStep} on. */
    static Engine poisoned(float value, int fromStep) {
        Engine inner = TinyFixture.engine();
        return new Engine() {
            @Override
            public String description() {
                return "poisoned";
            }

            @Override
            public Owl2Config config() {
                return inner.config();
            }

            @Override
            public float[] encodeImage(float[] pixelValues) {
                return inner.encodeImage(pixelValues);
            }

            @Override
            public Session newSession() {
                Session s = inner.newSession();
                return new Session() {
                    int steps;

                    float[] maybe(float[] logits) {
                        if (steps++ < fromStep) return logits;
                        float[] out = logits.clone();
                        Arrays.fill(out, value);
                        return out;
                    }

                    @Override
                    public float[] prefill(int[] ids, List<float[]> imageTokens) {
                        return maybe(s.prefill(ids, imageTokens));
                    }

                    @Override
                    public float[] step(int token) {
                        return maybe(s.step(token));
                    }

                    @Override
                    public int position() {
                        return s.position();
                    }

                    @Override
                    public int capacity() {
                        return s.capacity();
                    }

                    @Override
                    public void close() {
                        s.close();
                    }
                };
            }

            @Override
            public void close() {
            }
        };
    }

    static HttpResponse<String> post(OpenAiServer server, String path, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theGenerationLoopReportsNaNLogits() {
        for (int from : new int[]{0, 3}) {
            Engine e = poisoned(Float.NaN, from);
            Engine.Session s = e.newSession();
            float[] logits = s.prefill(TinyFixture.ids("prompt1"), List.of());
            assertThrows(NonFiniteLogitsException.class, () -> Generator.generate(s, logits, SamplingParams.greedy(8), 2,
                    TinyFixture.idText(), null, null), "from step " + from);
        }
    }

    @Test
    void theServerAnswersAServerErrorNamingTheNaNs() throws Exception {
        for (float poison : new float[]{Float.NaN, Float.POSITIVE_INFINITY}) {
            for (int from : new int[]{0, 2}) {
                try (OpenAiServer server = new OpenAiServer(new StubModel(2, poisoned(poison, from)),
                        ServerOptions.defaults().withPort(0).withBatch(2, 4)).start()) {
                    for (String extra : new String[]{"\"temperature\":0", "\"temperature\":0.8,\"seed\":3"}) {
                        String body = "{\"max_tokens\":6," + extra + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
                        HttpResponse<String> r = post(server, "/v1/chat/completions", body);
                        assertEquals(500, r.statusCode(), r.body());
                        JsonNode err = JSON.readTree(r.body()).get("error");
                        assertEquals("non_finite_logits", err.get("code").asText());
                        assertTrue(err.get("message").asText().contains("the model produced invalid logits"), r.body());

                        HttpResponse<String> streamed = post(server, "/v1/chat/completions", body.replace("{\"max_tokens\"", "{\"stream\":true,\"max_tokens\""));
                        assertEquals(200, streamed.statusCode());
                        assertTrue(streamed.body().contains("\"code\":\"non_finite_logits\""), streamed.body());
                        assertFalse(streamed.body().contains("\"finish_reason\":\"stop\""), streamed.body());
                    }
                    if (from == 0) { // scoring reads the prefill's logits and one step's
                        HttpResponse<String> score = post(server, "/v1/score", "{\"prompt\":\"hi\",\"candidates\":[\" a\",\"b\"]}");
                        assertEquals(500, score.statusCode(), score.body());
                        assertEquals("non_finite_logits", JSON.readTree(score.body()).get("error").get("code").asText());
                    }
                }
            }
        }
    }

    @Test
    void aVanishingTemperatureIsGreedy() throws Exception {
        try (OpenAiServer server = new OpenAiServer(new StubModel(2), ServerOptions.defaults().withPort(0).withBatch(2, 4)).start()) {
            String greedy = null;
            for (String t : new String[]{"0", "1e-320", "4.9e-324", "1e-9"}) {
                HttpResponse<String> r = post(server, "/v1/chat/completions", "{\"max_tokens\":8,\"temperature\":" + t
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}]}");
                assertEquals(200, r.statusCode(), r.body());
                String text = JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText();
                assertEquals(8, JSON.readTree(r.body()).get("usage").get("completion_tokens").asInt(), r.body());
                if (greedy == null) greedy = text;
                assertEquals(greedy, text, "temperature " + t);
            }
            StringBuilder golden = new StringBuilder();
            for (int id : TinyFixture.goldenGreedy("prompt1")) golden.append('[').append(id).append(']');
            assertEquals(golden.toString(), greedy);
        }
    }
}
