package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * http(s) images with --allow-remote-images, from a loopback image host that this server is told to trust
 * (127.0.0.1 only; a real server refuses it, see RemoteAddressTest): a fetched image answers like the same image
 * sent inline; a 404, an oversized body, a host that never answers (1 s limit) and a trickling one are all the same
 * 400. Also: a second server on a taken port fails with a one-line user error.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RemoteImageTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static HttpServer images;
    static OpenAiServer server;
    /** The same limits but a 60 s fetch deadline: a loaded CI machine may take over 1 s to serve the good image. */
    static OpenAiServer patient;
    static final CountDownLatch releaseSlow = new CountDownLatch(1);

    @BeforeAll
    static void start() throws Exception {
        images = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        images.createContext("/image0.png", ex -> {
            ex.sendResponseHeaders(200, StubModel.IMAGE0.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(StubModel.IMAGE0);
            }
        });
        images.createContext("/huge.png", ex -> {
            ex.sendResponseHeaders(200, 0); // chunked, no length: the size limit must cut the stream
            try (OutputStream o = ex.getResponseBody()) {
                byte[] block = new byte[1 << 16];
                for (int i = 0; i < 64; i++) o.write(block);
            } catch (java.io.IOException clientGone) {
                // the server stopped reading at its limit
            }
        });
        images.createContext("/slow.png", ex -> {
            try {
                releaseSlow.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.sendResponseHeaders(500, -1);
            ex.close();
        });
        images.createContext("/trickle.png", ex -> {
            ex.sendResponseHeaders(200, StubModel.IMAGE0.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(StubModel.IMAGE0, 0, 100); // headers and a little body, then nothing until the test ends
                o.flush();
                releaseSlow.await(60, TimeUnit.SECONDS);
            } catch (java.io.IOException | InterruptedException e) {
                // client gone or test over
            }
        });
        images.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        images.start();
        ServerOptions d = ServerOptions.defaults();
        ServerOptions o = new ServerOptions("127.0.0.1", 0, 2, 4, true, 2, 1 << 20, d.maxImagePixels(), 100, Duration.ofSeconds(1));
        server = new OpenAiServer(new StubModel(2), o, RemoteImageTest::trustedForTests).start();
        ServerOptions p = new ServerOptions("127.0.0.1", 0, 2, 4, true, 2, 1 << 20, d.maxImagePixels(), 100, Duration.ofSeconds(60));
        patient = new OpenAiServer(new StubModel(2), p, RemoteImageTest::trustedForTests).start();
    }

    /** Public addresses, and 127.0.0.1 itself (where the tests' image host listens). */
    static boolean trustedForTests(java.net.InetAddress a) {
        return a.getHostAddress().equals("127.0.0.1") || new PublicAddresses().test(a);
    }

    @AfterAll
    static void stop() {
        releaseSlow.countDown();
        if (server != null) server.close();
        if (patient != null) patient.close();
        if (images != null) images.stop(0);
    }

    static HttpResponse<String> chatWithImage(String url) throws Exception {
        return chatWithImage(server, url);
    }

    static HttpResponse<String> chatWithImage(OpenAiServer server, String url) throws Exception {
        String body = "{\"max_tokens\":8,\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\""
                + url + "\"}},{\"type\":\"text\",\"text\":\"Describe the image.\"}]}]}";
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    String host() {
        return "http://127.0.0.1:" + images.getAddress().getPort();
    }

    @Test
    void aFetchedImageAnswersLikeTheInlineOne() throws Exception {
        HttpResponse<String> remote = chatWithImage(patient, host() + "/image0.png");
        assertEquals(200, remote.statusCode(), remote.body());
        HttpResponse<String> inline = chatWithImage(HttpApiTest.IMAGE0);
        assertEquals(200, inline.statusCode(), inline.body());
        String text = JSON.readTree(remote.body()).get("choices").get(0).get("message").get("content").asText();
        assertEquals(JSON.readTree(inline.body()).get("choices").get(0).get("message").get("content").asText(), text);
        StringBuilder golden = new StringBuilder();
        for (int id : TinyFixture.goldenGreedy("prompt0")) golden.append('[').append(id).append(']');
        assertEquals(golden.toString(), text);
    }

    @Test
    void fetchFailuresAreBadRequests() throws Exception {
        // One message for every failure: the answer must not tell a 404 from a timeout or an oversized body.
        String same = "image 1: the image URL could not be fetched (it must be a public http(s) address that answers 200 with at most 1048576 bytes within 1 s)";
        assertError(chatWithImage(host() + "/missing.png"), "image_fetch_failed", same);
        assertError(chatWithImage(host() + "/huge.png"), "image_fetch_failed", same);
        assertError(chatWithImage(host() + "/slow.png"), "image_fetch_failed", same);
        assertError(chatWithImage(host() + "/trickle.png"), "image_fetch_failed", same);
    }

    static void assertError(HttpResponse<String> r, String code, String message) throws Exception {
        assertEquals(400, r.statusCode(), r.body());
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertEquals(code, err.get("code").asText());
        assertTrue(err.get("message").asText().contains(message), err.toString());
    }

    @Test
    void aTakenPortIsAUserError() {
        ServerOptions taken = ServerOptions.defaults().withPort(server.port());
        Owl2jException e = assertThrows(Owl2jException.class, () -> new OpenAiServer(new StubModel(2), taken).start());
        assertTrue(e.getMessage().startsWith("cannot listen on 127.0.0.1:" + server.port()), e.getMessage());
    }
}
