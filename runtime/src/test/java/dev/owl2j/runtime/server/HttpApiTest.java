package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.runtime.engine.Engine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The HTTP API with a plain HTTP client: a table of bad requests with their status and message, 429 when
 * the queue is full, cancellation when a streaming client disconnects, /v1/score against an independent
 * per-candidate recomputation, health and metrics.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HttpApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String IMAGE0 = "data:image/png;base64," + Base64.getEncoder().encodeToString(StubModel.IMAGE0);
    static OpenAiServer server;
    static HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        ServerOptions o = ServerOptions.defaults().withPort(0).withBatch(1, 1);
        o = new ServerOptions(o.host(), 0, 1, 1, false, 2, o.maxImageBytes(), 1_000_000, 100, o.remoteImageTimeout());
        server = new OpenAiServer(new StubModel(2), o).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static String user(String content) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":" + content + "}]";
    }

    static String imagePart(String url) {
        return "{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}}";
    }

    static Stream<Arguments> badRequests() {
        String tiny = "{\"type\":\"text\",\"text\":\"hi\"}";
        String notAnImage = "data:image/png;base64," + Base64.getEncoder().encodeToString("hello, world".getBytes());
        return Stream.of(
                Arguments.of("malformed JSON", "/v1/chat/completions", "{\"messages\": [", 400, "invalid_json", "malformed JSON"),
                Arguments.of("empty body", "/v1/chat/completions", "", 400, "invalid_json", "body is empty"),
                Arguments.of("array body", "/v1/chat/completions", "[1]", 400, "invalid_json", "must be a JSON object"),
                Arguments.of("no messages", "/v1/chat/completions", "{}", 400, "invalid_messages", "'messages' must be a non-empty array"),
                Arguments.of("bad role", "/v1/chat/completions", "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", 400, "invalid_messages", "role must be system, developer, user or assistant"),
                Arguments.of("n over the batch", "/v1/chat/completions", user("\"hi\"") + ",\"n\":2}", 400, "invalid_n", "n must be an integer from 1 to 1"),
                Arguments.of("broken base64", "/v1/chat/completions", user("[" + imagePart("data:image/png;base64,iVBOR@@@") + "]") + "}", 400, "invalid_base64", "image 1: broken base64"),
                Arguments.of("not an image", "/v1/chat/completions", user("[" + imagePart(notAnImage) + "]") + "}", 400, "unsupported_image_format", "image 1: unsupported image format"),
                Arguments.of("data URI without base64", "/v1/chat/completions", user("[" + imagePart("data:image/png,abc") + "]") + "}", 400, "invalid_image_url", "must be base64"),
                Arguments.of("remote URL not allowed", "/v1/chat/completions", user("[" + imagePart("http://example.invalid/a.png") + "]") + "}", 400, "remote_images_disabled", "--allow-remote-images"),
                Arguments.of("file URL", "/v1/chat/completions", user("[" + imagePart("file:///etc/passwd") + "]") + "}", 400, "invalid_image_url", "must be a data: URI"),
                Arguments.of("too many images", "/v1/chat/completions", user("[" + imagePart(IMAGE0) + "," + imagePart(IMAGE0) + "," + imagePart(IMAGE0) + "]") + "}", 400, "too_many_images", "3 images, the limit is 2"),
                Arguments.of("image over the pixel limit", "/v1/chat/completions", user("[" + imagePart("data:image/png;base64," + Base64.getEncoder().encodeToString(bigPng())) + "]") + "}", 400, "image_too_large", "1200x1000 pixels, the limit is 1000000"),
                Arguments.of("unknown part type", "/v1/chat/completions", user("[{\"type\":\"input_audio\"}]") + "}", 400, "unsupported_content_part", "unsupported part type 'input_audio'"),
                Arguments.of("marker in text", "/v1/chat/completions", user("\"look <|image|>\"") + "}", 400, "invalid_messages", "must not contain <|image|>"),
                Arguments.of("prompt over the context", "/v1/chat/completions", user("\"" + "x".repeat(2100) + "\"") + "}", 400, "context_length_exceeded", "the context holds 2048"),
                Arguments.of("max_tokens 0", "/v1/chat/completions", user("[" + tiny + "]") + ",\"max_tokens\":0}", 400, "invalid_max_tokens", "positive integer"),
                Arguments.of("max_tokens over the limit", "/v1/chat/completions", user("\"hi\"") + ",\"max_completion_tokens\":101}", 400, "invalid_max_tokens", "at most 100"),
                Arguments.of("negative temperature", "/v1/chat/completions", user("\"hi\"") + ",\"temperature\":-1}", 400, "invalid_temperature", "temperature must be a number in [0, 2]"),
                Arguments.of("top_p 0", "/v1/chat/completions", user("\"hi\"") + ",\"top_p\":0}", 400, "invalid_top_p", "top_p must be in (0, 1]"),
                Arguments.of("stop of the wrong type", "/v1/chat/completions", user("\"hi\"") + ",\"stop\":7}", 400, "invalid_stop", "stop must be a string or an array"),
                Arguments.of("five stops", "/v1/chat/completions", user("\"hi\"") + ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "invalid_stop", "at most 4"),
                Arguments.of("seed not an integer", "/v1/chat/completions", user("\"hi\"") + ",\"seed\":1.5}", 400, "invalid_seed", "seed must be an integer"),
                Arguments.of("stream not a boolean", "/v1/chat/completions", user("\"hi\"") + ",\"stream\":\"yes\"}", 400, "invalid_stream", "stream must be true or false"),
                Arguments.of("score without candidates", "/v1/score", "{\"prompt\":\"x\"}", 400, "invalid_candidates", "'candidates' must be a non-empty array"),
                Arguments.of("score without prompt", "/v1/score", "{\"candidates\":[\"a\"]}", 400, "invalid_request", "'messages' (array) or 'prompt' (string) is required"),
                Arguments.of("score with an empty candidate", "/v1/score", "{\"prompt\":\"x\",\"candidates\":[\"\"]}", 400, "invalid_candidates", "non-empty string"),
                Arguments.of("unknown route", "/v1/completions-of-sorts", "{}", 404, null, "POST /v1/completions-of-sorts not found"));
    }

    static byte[] bigPng() {
        try {
            var img = new java.awt.image.BufferedImage(1200, 1000, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
            var out = new java.io.ByteArrayOutputStream();
            javax.imageio.ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void badRequestsGetOpenAiErrors(String what, String path, String body, int status, String code, String message) throws Exception {
        HttpResponse<String> r = post(path, body);
        assertEquals(status, r.statusCode(), r.body());
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertTrue(err.get("message").asText().contains(message), err.toString());
        assertEquals(code == null ? "null" : code, err.get("code").isNull() ? "null" : err.get("code").asText());
        assertTrue(err.get("type").isTextual());
        assertFalse(r.body().contains("Exception") || r.body().contains("\tat "), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
    }

    static void awaitCondition(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    @Test
    void aFullQueueAnswers429() throws Exception {
        CountDownLatch inTask = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Object> blocker = server.scheduler().submitTask(e -> {
            inTask.countDown();
            try {
                release.await();
            } catch (InterruptedException ex) {
                throw new RuntimeException(ex);
            }
            return null;
        });
        assertTrue(inTask.await(60, TimeUnit.SECONDS));
        String body = user("\"hi\"") + ",\"max_tokens\":2}";
        CompletableFuture<HttpResponse<String>> first = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        awaitCondition(() -> server.scheduler().queueDepth() == 1, "the first request to queue");
        HttpResponse<String> second = post("/v1/chat/completions", body);
        assertEquals(429, second.statusCode());
        assertEquals("queue_full", JSON.readTree(second.body()).get("error").get("code").asText());
        release.countDown();
        blocker.get(60, TimeUnit.SECONDS);
        HttpResponse<String> ok = first.get(60, TimeUnit.SECONDS);
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals(2, JSON.readTree(ok.body()).get("usage").get("completion_tokens").asInt());
    }

    @Test
    void aStreamingClientThatDisconnectsIsCancelled() throws Exception {
        String body = user("\"hi\"") + ",\"max_tokens\":100,\"stream\":true}";
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            OutputStream out = socket.getOutputStream();
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                    + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            int dataLines = 0;
            String line;
            while (dataLines < 3 && (line = in.readLine()) != null) {
                if (line.contains("data: {")) dataLines++;
            }
            assertEquals(3, dataLines);
        }
        // The server notices the closed connection on its next writes and frees the slot.
        awaitCondition(() -> server.scheduler().metrics().render().contains("owl2j_requests_total{result=\"cancelled\"} 1"), "the cancellation");
        awaitCondition(() -> server.scheduler().activeCount() == 0, "the slot to be freed");
        HttpResponse<String> next = post("/v1/chat/completions", user("\"hi\"") + ",\"max_tokens\":1}");
        assertEquals(200, next.statusCode());
    }

    /** log softmax of the logits after the prompt plus the first j candidate tokens, recomputed from scratch each time. */
    static double[] recomputed(int[] prompt, List<float[]> images, int[] candidate) {
        Engine engine = TinyFixture.engine();
        double[] out = new double[candidate.length];
        for (int j = 0; j < candidate.length; j++) {
            int[] ids = Arrays.copyOf(prompt, prompt.length + j);
            System.arraycopy(candidate, 0, ids, prompt.length, j);
            float[] logits;
            try (Engine.Session s = engine.newSession()) {
                logits = s.prefill(ids, images);
            }
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits) max = Math.max(max, l);
            double sum = 0;
            for (float l : logits) sum += Math.exp(l - max);
            out[j] = logits[candidate[j]] - max - Math.log(sum);
        }
        return out;
    }

    @Test
    void scoreEqualsAFreshRecomputationPerCandidate() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":[" + imagePart(IMAGE0)
                + ",{\"type\":\"text\",\"text\":\"Describe the image.\"}]}],\"candidates\":[\" good\",\" poor\",\"!\"]}";
        HttpResponse<String> r = post("/v1/score", body);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode scores = JSON.readTree(r.body()).get("scores");
        assertEquals(3, scores.size());
        int[] prompt = TinyFixture.ids("prompt0");
        List<float[]> images = List.of(TinyFixture.engine().encodeImage(TinyFixture.pixels("image0")));
        String[] cands = {" good", " poor", "!"};
        for (int i = 0; i < cands.length; i++) {
            JsonNode s = scores.get(i);
            assertEquals(cands[i], s.get("candidate").asText());
            byte[] bytes = cands[i].getBytes(StandardCharsets.UTF_8);
            int[] ids = new int[bytes.length];
            for (int k = 0; k < ids.length; k++) ids[k] = 3 + bytes[k];
            List<Integer> got = new ArrayList<>();
            s.get("token_ids").forEach(n -> got.add(n.asInt()));
            assertEquals(Arrays.stream(ids).boxed().toList(), got);
            double[] expected = recomputed(prompt, images, ids);
            double sum = 0;
            for (int k = 0; k < ids.length; k++) {
                assertEquals(expected[k], s.get("token_logprobs").get(k).asDouble(), 1e-4, cands[i] + " token " + k);
                sum += expected[k];
            }
            assertEquals(sum, s.get("logprob").asDouble(), 1e-3, cands[i] + " sum");
        }
    }

    @Test
    void scoreWithARawPromptAndImagesEqualsTheChatForm() throws Exception {
        String chat = "{\"messages\":[{\"role\":\"user\",\"content\":[" + imagePart(IMAGE0)
                + ",{\"type\":\"text\",\"text\":\"Describe the image.\"}]}],\"candidates\":[\" good\",\"!\"]}";
        String raw = "{\"prompt\":\"" + StubModel.PROMPT0 + "\",\"images\":[\"" + IMAGE0 + "\"],\"candidates\":[\" good\",\"!\"]}";
        JsonNode a = JSON.readTree(post("/v1/score", chat).body());
        JsonNode b = JSON.readTree(post("/v1/score", raw).body());
        assertEquals(80, b.get("prompt_tokens").asInt());
        // Same tokens; log-probabilities equal up to float rounding (C2 may compile a kernel between the two requests
        // and change the order of a vector reduction).
        assertEquals(a.get("scores").size(), b.get("scores").size());
        for (int i = 0; i < a.get("scores").size(); i++) {
            JsonNode x = a.get("scores").get(i), y = b.get("scores").get(i);
            assertEquals(x.get("candidate"), y.get("candidate"));
            assertEquals(x.get("token_ids"), y.get("token_ids"));
            assertEquals(x.get("logprob").asDouble(), y.get("logprob").asDouble(), 1e-5);
            for (int k = 0; k < x.get("token_logprobs").size(); k++) {
                assertEquals(x.get("token_logprobs").get(k).asDouble(), y.get("token_logprobs").get(k).asDouble(), 1e-5);
            }
        }
        // A single-token candidate is the log-softmax of the prompt's last logits.
        assertEquals(recomputed(TinyFixture.ids("prompt0"), List.of(TinyFixture.engine().encodeImage(TinyFixture.pixels("image0"))),
                new int[]{3 + '!'})[0], b.get("scores").get(1).get("logprob").asDouble(), 1e-4);
    }

    @Test
    void healthModelsAndMetrics() throws Exception {
        HttpResponse<String> h = get("/health");
        assertEquals(200, h.statusCode());
        assertEquals("ok", JSON.readTree(h.body()).get("status").asText());
        HttpResponse<String> m = get("/v1/models");
        assertEquals("tiny-owl2-f16", JSON.readTree(m.body()).get("data").get(0).get("id").asText());
        HttpResponse<String> ok = post("/v1/chat/completions", user("\"hi\"") + ",\"max_tokens\":3,\"seed\":7,\"temperature\":0.7,\"stop\":[\"zzz\"]}");
        assertEquals(200, ok.statusCode(), ok.body());
        HttpResponse<String> metrics = get("/metrics");
        assertTrue(metrics.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        for (String name : List.of("owl2j_requests_total{result=\"length\"}", "owl2j_generated_tokens_total", "owl2j_queue_depth",
                "owl2j_time_to_first_token_seconds_bucket", "owl2j_request_duration_seconds_count", "owl2j_http_responses_total{code=\"200\"}")) {
            assertTrue(metrics.body().contains(name), name);
        }
    }
}
