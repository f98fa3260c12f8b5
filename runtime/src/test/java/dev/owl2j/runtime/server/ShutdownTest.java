package dev.owl2j.runtime.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shutdown answers 503 as documented: new requests, requests that shutdown cuts short (queued or running,
 * plain or streamed), scoring, and /health, which says "shutting_down"; none gets an empty 200.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ShutdownTest {
    @Test
    void everyRequestDuringShutdownIsA503() throws Exception {
        try (OpenAiServer server = new OpenAiServer(new StubModel(2), ServerOptions.defaults().withPort(0).withBatch(1, 4)).start()) {
            int port = server.port();
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
            String body = Wire.chat("\"hi\"", "\"max_tokens\":4");
            CompletableFuture<HttpResponse<String>> queuedPlain = Wire.HTTP.sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/v1/chat/completions")).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            CompletableFuture<HttpResponse<String>> queuedStream = Wire.HTTP.sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/v1/chat/completions")).POST(HttpRequest.BodyPublishers.ofString(
                            Wire.chat("\"hi\"", "\"max_tokens\":4,\"stream\":true"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            Wire.awaitCondition(() -> server.scheduler().queueDepth() == 2, "both requests to queue");

            // Shutdown without draining (what close() falls back to when draining takes too long).
            server.scheduler().shutdown(false, 0, TimeUnit.SECONDS);
            HttpResponse<String> fresh = Wire.post(port, "/v1/chat/completions", body);
            Wire.assertApiError(503, "shutting_down", "shutting down", fresh.statusCode(), fresh.body());
            HttpResponse<String> score = Wire.post(port, "/v1/score", "{\"prompt\":\"x\",\"candidates\":[\"a\"]}");
            Wire.assertApiError(503, "shutting_down", "shutting down", score.statusCode(), score.body());
            HttpResponse<String> health = Wire.get(port, "/health");
            assertEquals(503, health.statusCode());
            assertEquals("shutting_down", Wire.JSON.readTree(health.body()).get("status").asText());

            release.countDown();
            HttpResponse<String> plain = queuedPlain.get(60, TimeUnit.SECONDS);
            Wire.assertApiError(503, "shutting_down", "shutting down", plain.statusCode(), plain.body());
            HttpResponse<String> streamed = queuedStream.get(60, TimeUnit.SECONDS);
            assertTrue(streamed.body().contains("\"code\":\"shutting_down\""), streamed.body());
            assertFalse(streamed.body().contains("\"finish_reason\":\"stop\""), streamed.body());
        }
    }
}
