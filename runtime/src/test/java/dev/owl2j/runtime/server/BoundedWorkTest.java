package dev.owl2j.runtime.server;

import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.TextStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPU-heavy work is bounded before it starts: prompts whose length alone proves they cannot fit are refused
 * without tokenizing; image decoding runs on a bounded pool with a queue limit (429 beyond it); /health and
 * /metrics answer while the pool and the decode thread are all busy; large bodies share a memory budget.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BoundedWorkTest {
    /** The stand-in front end, recording the longest text it was asked to tokenize and holding image decodes at a gate. */
    static final class Spy implements ServerModel {
        final StubModel inner = new StubModel(2);
        final AtomicInteger longestTokenized = new AtomicInteger();
        final AtomicInteger decoding = new AtomicInteger();
        final AtomicInteger mostDecodingAtOnce = new AtomicInteger();
        volatile CountDownLatch gate = new CountDownLatch(0);

        @Override
        public String id() {
            return inner.id();
        }

        @Override
        public Engine engine() {
            return inner.engine();
        }

        @Override
        public String renderChat(List<Turn> turns) {
            return inner.renderChat(turns);
        }

        @Override
        public int[] encodePrompt(String prompt) {
            longestTokenized.accumulateAndGet(prompt.length(), Math::max);
            return inner.encodePrompt(prompt);
        }

        @Override
        public long tokenLowerBound(String prompt) {
            return inner.tokenLowerBound(prompt);
        }

        @Override
        public TextStream newTextStream() {
            return inner.newTextStream();
        }

        @Override
        public int eosId() {
            return inner.eosId();
        }

        @Override
        public float[] pixelValues(byte[] data, String name) {
            mostDecodingAtOnce.accumulateAndGet(decoding.incrementAndGet(), Math::max);
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                decoding.decrementAndGet();
            }
            return inner.pixelValues(data, name);
        }
    }

    static final String IMAGE = "data:image/png;base64," + Base64.getEncoder().encodeToString(StubModel.IMAGE0);

    static String imageChat() {
        return Wire.chat("[{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + IMAGE + "\"}},{\"type\":\"text\",\"text\":\"Describe the image.\"}]",
                "\"max_tokens\":2,\"temperature\":0");
    }

    @Test
    void overlongPromptsAreRefusedWithoutTokenizing() throws Exception {
        Spy spy = new Spy();
        try (OpenAiServer server = new OpenAiServer(spy, ServerOptions.defaults().withPort(0).withBatch(2, 4)).start()) {
            int port = server.port();
            for (int chars : new int[]{2048, 100_000, 15 << 20}) {
                String text = "y".repeat(chars);
                HttpResponse<String> chat = Wire.post(port, "/v1/chat/completions", Wire.chat("\"" + text + "\"", ""));
                Wire.assertApiError(400, "context_length_exceeded", "the context holds 2048", chat.statusCode(), chat.body());
                HttpResponse<String> split = Wire.post(port, "/v1/chat/completions", "{\"messages\":[{\"role\":\"system\",\"content\":\""
                        + text.substring(chars / 2) + "\"},{\"role\":\"user\",\"content\":\"" + text.substring(chars / 2) + "\"}]}");
                Wire.assertApiError(400, "context_length_exceeded", "the context holds 2048", split.statusCode(), split.body());
                HttpResponse<String> score = Wire.post(port, "/v1/score", "{\"prompt\":\"hi\",\"candidates\":[\"a\",\"" + text + "\"]}");
                Wire.assertApiError(400, "context_length_exceeded", "the context holds 2048", score.statusCode(), score.body());
            }
            assertTrue(spy.longestTokenized.get() == 0, "tokenized " + spy.longestTokenized.get() + " characters");
            // A prompt that fits is tokenized as usual.
            HttpResponse<String> ok = Wire.post(port, "/v1/chat/completions", Wire.chat("\"" + "y".repeat(500) + "\"", "\"max_tokens\":1"));
            assertEquals(200, ok.statusCode(), ok.body());
            assertTrue(spy.longestTokenized.get() > 500 && spy.longestTokenized.get() < 700);
        }
    }

    @Test
    void imageDecodingIsBoundedAndHealthStaysAnswerable() throws Exception {
        Spy spy = new Spy();
        spy.gate = new CountDownLatch(1);
        ServerOptions o = ServerOptions.defaults().withPort(0).withBatch(1, 1).withFrontEnd(1, 0);
        try (OpenAiServer server = new OpenAiServer(spy, o).start()) {
            int port = server.port();
            // The decode thread is held too, so every worker of the server is busy.
            CountDownLatch inTask = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            server.scheduler().submitTask(e -> {
                inTask.countDown();
                try {
                    release.await();
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
                return null;
            });
            assertTrue(inTask.await(60, TimeUnit.SECONDS));
            List<CompletableFuture<HttpResponse<String>>> first = new ArrayList<>();
            first.add(send(port, imageChat()));
            Wire.awaitCondition(() -> spy.decoding.get() == 1, "the first image to be decoding");
            first.add(send(port, imageChat()));
            Wire.awaitCondition(() -> metric(port, "owl2j_preparations_pending") == 2, "the second request to wait for the pool");
            HttpResponse<String> third = Wire.post(port, "/v1/chat/completions", imageChat());
            Wire.assertApiError(429, "queue_full", "busy preparing other requests", third.statusCode(), third.body());

            HttpResponse<String> health = Wire.get(port, "/health");
            assertEquals(200, health.statusCode(), health.body());
            assertEquals("ok", Wire.JSON.readTree(health.body()).get("status").asText());
            assertEquals(200, Wire.get(port, "/metrics").statusCode());

            spy.gate.countDown();
            release.countDown();
            for (CompletableFuture<HttpResponse<String>> f : first) {
                HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
                assertTrue(r.statusCode() == 200 || r.statusCode() == 429, r.body()); // the queue of one may still be full
            }
            assertEquals(1, spy.mostDecodingAtOnce.get(), "images decoded at once with one front-end thread");
        }
    }

    static CompletableFuture<HttpResponse<String>> send(int port, String body) {
        return Wire.HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static long metric(int port, String name) {
        try {
            for (String line : Wire.get(port, "/metrics").body().split("\n")) {
                if (line.startsWith(name + " ")) return Long.parseLong(line.substring(name.length() + 1).trim());
            }
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return -1;
    }

    @Test
    void bodiesShareAMemoryBudget() throws Exception {
        // One image of 1 MiB at most: a body is at most 2.4 MiB, and so is the budget of all bodies together.
        ServerOptions o = new ServerOptions("127.0.0.1", 0, 2, 4, false, 1, 1 << 20, 1_000_000, 100, Duration.ofSeconds(1))
                .withFrontEnd(1, 0);
        try (OpenAiServer server = new OpenAiServer(new StubModel(2), o).start(); Socket slow = new Socket("127.0.0.1", server.port())) {
            int port = server.port();
            long big = o.maxBodyBytes() - (300 << 10); // leaves 300 KiB of the budget
            OutputStream out = slow.getOutputStream();
            out.write(Wire.ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + big + "\r\n\r\n{\"messages\":\""));
            out.flush(); // and nothing more for now: the server holds the budget for the whole declared body
            byte[] probe = ("{\"messages\":" + " ".repeat(1 << 20) + "1}").getBytes();
            Wire.awaitCondition(() -> metric(port, "owl2j_request_body_bytes") >= big, "the server to hold the first body's budget");
            Wire.Raw busy = Wire.raw(port, MalformedRequestTest.request("/v1/chat/completions", probe));
            Wire.assertApiError(429, "server_busy", "too many large requests", busy.status(), busy.body());
            // Small requests still pass, and so do large ones once the first body is gone.
            HttpResponse<String> small = Wire.post(port, "/v1/chat/completions", Wire.chat("\"hi\"", "\"max_tokens\":1"));
            assertEquals(200, small.statusCode(), small.body());
            slow.close();
            Wire.awaitCondition(() -> {
                try {
                    return Wire.raw(port, MalformedRequestTest.request("/v1/chat/completions", probe)).status() == 400;
                } catch (java.io.IOException e) {
                    throw new AssertionError(e);
                }
            }, "the budget to come back");
        }
    }
}
