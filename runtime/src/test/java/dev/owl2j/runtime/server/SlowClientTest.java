package dev.owl2j.runtime.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Slow and abusive clients, with small configured timeouts and assertions on outcomes only: silent, trickling
 * and stalled connections are closed by the read deadline; a request that waits for the engine far longer than
 * the deadline is still answered; connections over the cap get a clean 503 while /health keeps answering, also
 * with hundreds of half-open sockets open; Jetty's own errors are JSON.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SlowClientTest {
    static OpenAiServer server(Duration readTimeout, int maxConnections) {
        return new OpenAiServer(new StubModel(2), ServerOptions.defaults().withPort(0).withBatch(2, 8)
                .withConnections(readTimeout, maxConnections)).start();
    }

    /** Reads until the server closes the connection; true when it did (EOF or reset). */
    static boolean closedByServer(Socket s) {
        try {
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {
                // drain whatever answer came first
            }
            return true;
        } catch (IOException e) {
            return true;
        }
    }

    /** Writes one byte of {@code text} after another, each 20 ms apart, until the server hangs up. */
    static Thread trickle(Socket s, String text) {
        return Thread.ofVirtual().start(() -> {
            try {
                OutputStream out = s.getOutputStream();
                for (int i = 0; ; i = (i + 1) % text.length()) {
                    out.write(text.charAt(i));
                    out.flush();
                    Thread.sleep(20); // the trickle's pace, not a wait for the server
                }
            } catch (IOException | InterruptedException e) {
                // closed by the server (or the test)
            }
        });
    }

    @Test
    void silentTricklingAndStalledClientsAreClosed() throws Exception {
        try (OpenAiServer server = server(Duration.ofMillis(300), 64)) {
            int port = server.port();
            try (Socket silent = new Socket("127.0.0.1", port);
                 Socket headers = new Socket("127.0.0.1", port);
                 Socket body = new Socket("127.0.0.1", port);
                 Socket stalled = new Socket("127.0.0.1", port)) {
                Thread t1 = trickle(headers, "POST /v1/chat/completions HTTP/1.1\r\nX-Pad: " + "a".repeat(50));
                body.getOutputStream().write(Wire.ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{"));
                Thread t2 = trickle(body, "\"messages\"");
                stalled.getOutputStream().write(Wire.ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{\"mess"));
                for (Socket s : new Socket[]{silent, headers, body, stalled}) {
                    assertTrue(closedByServer(s));
                }
                t1.join();
                t2.join();
            }
            // A keep-alive connection idle after its answer is closed the same way.
            try (Socket keep = new Socket("127.0.0.1", port)) {
                keep.getOutputStream().write(Wire.ascii("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
                Wire.Raw r = Wire.read(keep.getInputStream());
                assertEquals(200, r.status());
                assertTrue(closedByServer(keep));
            }
            assertTrue(Wire.get(port, "/metrics").body().contains("owl2j_connections_closed_total{reason=\"read_timeout\"}"));
            assertEquals(200, Wire.get(port, "/health").statusCode());
        }
    }

    @Test
    void aRequestWaitingForTheEngineOutlivesTheReadTimeout() throws Exception {
        try (OpenAiServer server = server(Duration.ofMillis(200), 64)) {
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
            CompletableFuture<HttpResponse<String>> waiting = Wire.HTTP.sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/v1/chat/completions")).POST(HttpRequest.BodyPublishers.ofString(
                            Wire.chat("\"hi\"", "\"max_tokens\":2"))).build(), HttpResponse.BodyHandlers.ofString());
            Wire.awaitCondition(() -> server.scheduler().queueDepth() == 1, "the request to queue");
            // An idle connection opened now is closed after the read timeout: then at least that much time has
            // passed for the waiting request too.
            try (Socket idle = new Socket("127.0.0.1", port)) {
                assertTrue(closedByServer(idle));
            }
            release.countDown();
            HttpResponse<String> r = waiting.get(60, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
        }
    }

    @Test
    void connectionsOverTheCapAreRefusedCleanlyButHealthIsServed() throws Exception {
        try (OpenAiServer server = server(Duration.ofSeconds(60), 4)) {
            int port = server.port();
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) held.add(new Socket("127.0.0.1", port));
                Wire.awaitCondition(() -> openConnections(port) >= 4, "the four connections to be open");
                Wire.Raw chat = Wire.raw(port, MalformedRequestTest.request("/v1/chat/completions",
                        Wire.chat("\"hi\"", "\"max_tokens\":1").getBytes()));
                Wire.assertApiError(503, "too_many_connections", "--max-connections", chat.status(), chat.body());
                Wire.Raw health = Wire.raw(port, Wire.ascii("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
                assertEquals(200, health.status(), health.body());
                assertEquals("close", health.headers().get("connection"));
                Wire.Raw metrics = Wire.raw(port, Wire.ascii("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
                assertEquals(200, metrics.status());
                assertTrue(metrics.body().contains("owl2j_connections_closed_total{reason=\"over_connection_cap\"}"), metrics.body());
            } finally {
                for (Socket s : held) s.close();
            }
            // Once they are gone, requests are served again.
            Wire.awaitCondition(() -> openConnections(port) <= 1, "the held connections to close");
            HttpResponse<String> ok = Wire.post(port, "/v1/chat/completions", Wire.chat("\"hi\"", "\"max_tokens\":1"));
            assertEquals(200, ok.statusCode(), ok.body());
        }
    }

    static long openConnections(int port) {
        try {
            Wire.Raw r = Wire.raw(port, Wire.ascii("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
            for (String line : r.body().split("\n")) {
                if (line.startsWith("owl2j_connections_open ")) return Long.parseLong(line.substring(23).trim()) - 1; // minus this one
            }
            return -1;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void hundredsOfHalfOpenSocketsDoNotSilenceHealth() throws Exception {
        try (OpenAiServer server = server(Duration.ofMillis(500), 8)) {
            int port = server.port();
            List<SocketChannel> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 400; i++) {
                    SocketChannel ch = SocketChannel.open();
                    ch.configureBlocking(false); // a full accept queue must not block the test
                    ch.connect(new InetSocketAddress("127.0.0.1", port));
                    flood.add(ch);
                }
                HttpResponse<String> health = Wire.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, health.statusCode(), health.body());
            } finally {
                for (SocketChannel ch : flood) ch.close();
            }
        }
    }

    @Test
    void jettysOwnErrorsAreJson() throws Exception {
        try (OpenAiServer server = server(Duration.ofSeconds(30), 64)) {
            for (String bad : new String[]{"GET /health HTTP/1.1\r\nNo colon here\r\n\r\n", "GET /\u0001 HTTP/1.1\r\n\r\n",
                    "POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"}) {
                Wire.Raw r = Wire.raw(server.port(), Wire.ascii(bad));
                assertEquals(400, r.status(), r.body());
                assertEquals("bad_http_request", r.error().get("code").asText());
            }
            Wire.Raw version = Wire.raw(server.port(), Wire.ascii("BREW /pot HTTP/9.9\r\n\r\n"));
            assertEquals(505, version.status(), version.body());
            assertEquals("bad_http_request", version.error().get("code").asText());
            Wire.Raw bigHeaders = Wire.raw(server.port(), Wire.ascii("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                    + "b".repeat(20_000) + "\r\n\r\n"));
            assertEquals(431, bigHeaders.status(), bigHeaders.body());
            assertEquals("bad_http_request", bigHeaders.error().get("code").asText());
        }
    }
}
