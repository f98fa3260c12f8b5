package dev.owl2j.runtime.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Browser safety and the API key: cross-origin simple POSTs refused without --cors, CORS answered only for the
 * named origins, Host headers of foreign names refused (DNS rebinding), the bearer key required where set. Raw
 * requests, because an HTTP client library would not let a test forge Host and Origin.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AccessTest {
    static final String BODY = Wire.chat("\"hi\"", "\"max_tokens\":1,\"temperature\":0");

    static Wire.Raw send(int port, String method, String path, String body, String... headers) throws Exception {
        StringBuilder b = new StringBuilder(method + " " + path + " HTTP/1.1\r\nConnection: close\r\n");
        boolean hasHost = false;
        for (int i = 0; i < headers.length; i += 2) {
            b.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
            hasHost |= headers[i].equalsIgnoreCase("Host");
        }
        if (!hasHost) b.append("Host: 127.0.0.1:").append(port).append("\r\n");
        byte[] bytes = body.getBytes();
        b.append("Content-Length: ").append(bytes.length).append("\r\n\r\n");
        return Wire.raw(port, (b + body).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    }

    @Test
    void crossOriginPostsAreRefusedWithoutCors() throws Exception {
        try (OpenAiServer server = new OpenAiServer(new StubModel(2), ServerOptions.defaults().withPort(0)).start()) {
            int port = server.port();
            for (String origin : List.of("http://evil.example", "https://evil.example:8443", "null", "http://127.0.0.1:1", "file://")) {
                for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/json")) {
                    Wire.Raw r = send(port, "POST", "/v1/chat/completions", BODY, "Origin", origin, "Content-Type", type);
                    Wire.assertApiError(403, "cross_origin_refused", "other origins are refused", r.status(), r.body());
                    assertNull(r.headers().get("access-control-allow-origin"));
                }
                Wire.Raw pre = send(port, "OPTIONS", "/v1/chat/completions", "", "Origin", origin, "Access-Control-Request-Method", "POST");
                assertEquals(403, pre.status(), pre.body());
                assertNull(pre.headers().get("access-control-allow-origin"));
            }
            // Requests without an Origin (SDKs, curl) and from the server's own origin are served.
            assertEquals(200, send(port, "POST", "/v1/chat/completions", BODY).status());
            assertEquals(200, send(port, "POST", "/v1/chat/completions", BODY, "Origin", "http://127.0.0.1:" + port).status());
            // Reads are refused to other origins as well.
            assertEquals(403, send(port, "GET", "/v1/models", "", "Origin", "http://evil.example").status());
        }
    }

    @Test
    void corsIsAnsweredForTheNamedOriginsOnly() throws Exception {
        ServerOptions o = ServerOptions.defaults().withPort(0).withAccess(List.of("https://app.example", "http://localhost:3000"), List.of(), null);
        try (OpenAiServer server = new OpenAiServer(new StubModel(2), o).start()) {
            int port = server.port();
            for (String origin : List.of("https://app.example", "http://localhost:3000", "HTTPS://APP.EXAMPLE")) {
                Wire.Raw pre = send(port, "OPTIONS", "/v1/chat/completions", "", "Origin", origin,
                        "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type");
                assertEquals(204, pre.status(), pre.body());
                assertEquals(origin, pre.headers().get("access-control-allow-origin"));
                assertTrue(pre.headers().get("access-control-allow-headers").contains("Authorization"));
                Wire.Raw post = send(port, "POST", "/v1/chat/completions", BODY, "Origin", origin, "Content-Type", "application/json");
                assertEquals(200, post.status(), post.body());
                assertEquals(origin, post.headers().get("access-control-allow-origin"));
                assertEquals("Origin", post.headers().get("vary"));
            }
            for (String origin : List.of("https://app.example.evil", "http://app.example", "https://evil.example", "http://localhost:3001")) {
                Wire.Raw post = send(port, "POST", "/v1/chat/completions", BODY, "Origin", origin);
                Wire.assertApiError(403, "cross_origin_refused", "--cors", post.status(), post.body());
                assertNull(post.headers().get("access-control-allow-origin"));
            }
        }
    }

    @Test
    void foreignHostNamesAreRefused() throws Exception {
        ServerOptions o = ServerOptions.defaults().withPort(0).withAccess(List.of(), List.of("api.example.com"), null);
        try (OpenAiServer server = new OpenAiServer(new StubModel(2), o).start()) {
            int port = server.port();
            for (String host : List.of("127.0.0.1:" + port, "127.0.0.1", "localhost:" + port, "LOCALHOST", "[::1]:" + port,
                    "10.1.2.3:8080", "api.example.com", "API.Example.com:443", "api.example.com.")) {
                assertEquals(200, send(port, "GET", "/health", "", "Host", host).status(), host);
            }
            for (String host : List.of("evil.example:" + port, "rebind.attacker.test", "localhost.evil.example", "api.example.com.evil",
                    "127.0.0.1.nip.io:" + port)) {
                Wire.Raw r = send(port, "POST", "/v1/chat/completions", BODY, "Host", host);
                Wire.assertApiError(403, "invalid_host", "--host-name", r.status(), r.body());
                assertEquals(403, send(port, "GET", "/metrics", "", "Host", host).status(), host);
            }
        }
    }

    @Test
    void theApiKeyIsRequiredWhereSet() throws Exception {
        ServerOptions o = ServerOptions.defaults().withPort(0).withAccess(List.of(), List.of(), "s3cret-key");
        try (OpenAiServer server = new OpenAiServer(new StubModel(2), o).start()) {
            int port = server.port();
            for (String[] auth : new String[][]{{}, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret-key"},
                    {"Authorization", "Basic s3cret-key"}, {"Authorization", "Bearer s3cret-key2"}, {"Authorization", "Bearer "}}) {
                for (String[] req : new String[][]{{"POST", "/v1/chat/completions"}, {"POST", "/v1/score"}, {"GET", "/v1/models"}, {"GET", "/metrics"}}) {
                    Wire.Raw r = send(port, req[0], req[1], req[0].equals("POST") ? BODY : "", auth);
                    Wire.assertApiError(401, "invalid_api_key", "API key", r.status(), r.body());
                    assertEquals("Bearer", r.headers().get("www-authenticate"));
                }
            }
            assertEquals(200, send(port, "GET", "/health", "").status());
            assertEquals(200, send(port, "POST", "/v1/chat/completions", BODY, "Authorization", "Bearer s3cret-key").status());
            assertEquals(200, send(port, "GET", "/metrics", "", "Authorization", "bearer s3cret-key").status());

            // The official SDK sends the key it is given.
            String base = "http://127.0.0.1:" + port + "/v1";
            ChatCompletionCreateParams p = ChatCompletionCreateParams.builder().model("tiny-owl2-f16").addUserMessage("hi").maxCompletionTokens(1).build();
            OpenAIClient good = OpenAIOkHttpClient.builder().baseUrl(base).apiKey("s3cret-key").maxRetries(0).build();
            OpenAIClient bad = OpenAIOkHttpClient.builder().baseUrl(base).apiKey("nope").maxRetries(0).build();
            try {
                assertEquals(1, good.chat().completions().create(p).usage().orElseThrow().completionTokens());
                UnauthorizedException e = assertThrows(UnauthorizedException.class, () -> bad.chat().completions().create(p));
                assertEquals(401, e.statusCode());
            } finally {
                good.close();
                bad.close();
            }
        }
    }

    @Test
    void badAccessOptionsAreOneLineErrors() {
        assertEquals("--cors: '*' would let every web page use the server; name the origin (https://app.example.com)",
                assertThrows(Owl2jException.class, () -> OpenAiServer.checkOrigins(List.of("*"))).getMessage());
        assertThrows(Owl2jException.class, () -> OpenAiServer.checkOrigins(List.of("https://app.example.com/path")));
        assertThrows(Owl2jException.class, () -> OpenAiServer.checkOrigins(List.of("app.example.com")));
        assertThrows(Owl2jException.class, () -> OpenAiServer.checkHostNames(List.of("10.0.0.1")));
        assertThrows(Owl2jException.class, () -> OpenAiServer.checkHostNames(List.of("bad name")));
        assertThrows(Owl2jException.class, () -> ServerOptions.defaults().withAccess(List.of(), List.of(), " "));
    }
}
