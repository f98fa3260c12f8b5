package dev.owl2j.runtime.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every malformed body is a 400 (or a 413 for an oversized one) with an OpenAI error object, on every endpoint:
 * deep nesting, huge strings, huge numbers, broken UTF-8, duplicate keys, trailing data, oversized and chunked
 * bodies. None is a 500 or names a Java exception.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MalformedRequestTest {
    static OpenAiServer server;

    @BeforeAll
    static void start() {
        // one image of at most 4 MiB: the largest body is 4/3 of that plus 1 MiB (6.6 MiB)
        ServerOptions o = new ServerOptions("127.0.0.1", 0, 2, 4, false, 1, 4 << 20, 1_000_000, 100, java.time.Duration.ofSeconds(1));
        server = new OpenAiServer(new StubModel(2), o).start();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static String nested(char open, char close, String inner, int depth) {
        return String.valueOf(open).repeat(depth) + inner + String.valueOf(close).repeat(depth);
    }

    static Stream<Arguments> bodies() {
        String deepObjects = "{\"a\":".repeat(5000) + "1" + "}".repeat(5000);
        String bigString = "x".repeat(5 << 20); // 5 MiB: under the body limit, far over any prompt
        return Stream.of(
                Arguments.of("arrays nested 5000 deep", nested('[', ']', "", 5000), "invalid_json", "nested deeper than 64"),
                Arguments.of("objects nested 5000 deep", deepObjects, "invalid_json", "nested deeper than 64"),
                Arguments.of("content nested 5000 deep", Wire.chat(nested('[', ']', "1", 5000), ""), "invalid_json", "nested deeper than 64"),
                Arguments.of("a 5 MiB content string", Wire.chat("\"" + bigString + "\"", ""), "context_length_exceeded", "the context holds 2048"),
                Arguments.of("a 5 MiB role", "{\"messages\":[{\"role\":\"" + bigString + "\",\"content\":\"x\"}]}", "invalid_messages", "role must be system, developer, user or assistant"),
                Arguments.of("a 5 MiB key", "{\"" + bigString + "\":1}", "invalid_json", ""),
                Arguments.of("a 1000-digit number", Wire.chat("\"hi\"", "\"max_tokens\":" + "9".repeat(1000)), "invalid_json", "longer than 100 digits"),
                Arguments.of("max_tokens past long", Wire.chat("\"hi\"", "\"max_tokens\":99999999999999999999"), "invalid_max_tokens", "positive integer"),
                Arguments.of("max_tokens 1e400", Wire.chat("\"hi\"", "\"max_tokens\":1e400"), "invalid_max_tokens", "positive integer"),
                Arguments.of("temperature 1e400", Wire.chat("\"hi\"", "\"temperature\":1e400"), "invalid_temperature", "temperature must be a number in [0, 2]"),
                Arguments.of("temperature NaN", Wire.chat("\"hi\"", "\"temperature\":NaN"), "invalid_json", "malformed JSON"),
                Arguments.of("seed past long", Wire.chat("\"hi\"", "\"seed\":-99999999999999999999"), "invalid_seed", "seed must be an integer"),
                Arguments.of("duplicate keys", "{\"messages\":[],\"messages\":[]}", "invalid_json", "Duplicate field 'messages'"),
                Arguments.of("trailing data", Wire.chat("\"hi\"", "") + " {}", "invalid_json", "malformed JSON"),
                Arguments.of("a NUL byte", "{\"messages\":\u0000}", "invalid_json", "malformed JSON"),
                Arguments.of("a control character in a string", Wire.chat("\"a\u0001b\"", ""), "invalid_json", "malformed JSON"),
                Arguments.of("a string that never ends", "{\"messages\":\"abc", "invalid_json", "malformed JSON"),
                Arguments.of("only whitespace", " \n\t ", "invalid_json", "body is empty"),
                Arguments.of("a bare number", "42", "invalid_json", "must be a JSON object"),
                Arguments.of("null", "null", "invalid_json", "must be a JSON object"),
                Arguments.of("a long stop string", Wire.chat("\"hi\"", "\"stop\":\"" + "s".repeat(300) + "\""), "invalid_stop", "at most 256"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bodies")
    void malformedBodiesAreOpenAiErrors(String what, String body, String code, String message) throws Exception {
        for (String path : new String[]{"/v1/chat/completions", "/v1/score"}) {
            HttpResponse<String> r = Wire.post(server.port(), path, body);
            if (path.equals("/v1/score") && !code.equals("invalid_json")) continue; // the score fields differ
            Wire.assertApiError(400, code, message, r.statusCode(), r.body());
        }
    }

    @Test
    void clientTextInErrorsIsEscapedToOneLine() throws Exception {
        // field names, roles, model names and schema keys with line breaks (a fuzzing finding: an unknown field
        // whose name held a newline gave a two-line message)
        for (String body : new String[]{
                "{\"mess\\nages\":[]}",
                "{\"messages\":[{\"role\":\"us\\r\\ner\",\"content\":\"x\"}]}",
                "{\"model\":\"a\\u2028b\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                        + "{\"name\":\"n\",\"schema\":{\"type\":\"object\",\"properties\":{\"a\\nb\":{\"type\":\"string\",\"pattern\":\"x\"}}}}}}"}) {
            HttpResponse<String> r = Wire.post(server.port(), "/v1/chat/completions", body);
            assertEquals(true, r.statusCode() == 400 || r.statusCode() == 404, r.body());
            String message = Wire.JSON.readTree(r.body()).get("error").get("message").asText();
            assertEquals(-1, message.indexOf('\n'), message);
            assertEquals(-1, message.indexOf('\r'), message);
            assertEquals(-1, message.indexOf('\u2028'), message);
            assertEquals(true, message.contains("\\x0a") || message.contains("\\x0d") || message.contains("\\x2028"), message);
        }
    }

    @Test
    void invalidUtf8IsABadRequest() throws Exception {
        byte[] body = {'{', '"', 'm', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        Wire.Raw r = Wire.raw(server.port(), request("/v1/chat/completions", body));
        Wire.assertApiError(400, "invalid_json", "malformed JSON", r.status(), r.body());
    }

    static byte[] request(String path, byte[] body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(Wire.ascii("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n"));
        b.writeBytes(body);
        return b.toByteArray();
    }

    @Test
    void aDeclaredLengthOverTheLimitIsRefusedBeforeTheBodyIsRead() throws Exception {
        Wire.Raw r = Wire.raw(server.port(), Wire.ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + (50L << 20) + "\r\n\r\n{"));
        Wire.assertApiError(413, "request_too_large", "larger than", r.status(), r.body());
    }

    @Test
    void aChunkedBodyIsCutAtTheLimit() throws Exception {
        // Javalin checks only Content-Length; a chunked body must be bounded as it arrives.
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(Wire.ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
            byte[] chunk = "x".repeat(1 << 16).getBytes(StandardCharsets.US_ASCII);
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    byte[] head = Wire.ascii("{\"messages\":\"");
                    out.write(Wire.ascii(Integer.toHexString(head.length) + "\r\n"));
                    out.write(head);
                    out.write(Wire.ascii("\r\n"));
                    for (int i = 0; i < 50 * 16; i++) { // up to 50 MiB; the server stops reading long before
                        out.write(Wire.ascii(Integer.toHexString(chunk.length) + "\r\n"));
                        out.write(chunk);
                        out.write(Wire.ascii("\r\n"));
                    }
                    out.write(Wire.ascii("0\r\n\r\n"));
                } catch (java.io.IOException serverClosed) {
                    // expected once the server has answered
                }
            });
            Wire.Raw r = Wire.read(s.getInputStream());
            Wire.assertApiError(413, "request_too_large", "larger than", r.status(), r.body());
            s.close();
            writer.join();
        }
    }

    @Test
    void unknownPathsAndMethodsAreJsonErrors() throws Exception {
        HttpResponse<String> r = Wire.get(server.port(), "/v1/chat/completions");
        assertEquals(true, r.statusCode() == 404 || r.statusCode() == 405, r.body());
        Wire.JSON.readTree(r.body()).get("error").get("message").asText();
        HttpResponse<String> p = Wire.post(server.port(), "/nope", "{}");
        Wire.assertApiError(404, null, "not found", p.statusCode(), p.body());
    }
}
