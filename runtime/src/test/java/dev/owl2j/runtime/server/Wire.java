package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** HTTP helpers for the server tests: the JDK client, raw sockets for what clients normally never send. */
final class Wire {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private Wire() {}

    static HttpResponse<String> post(int port, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(int port, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET();
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String chat(String content, String extra) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":" + content + "}]" + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    /** A raw response: status, headers (lower-case names) and body. */
    record Raw(int status, Map<String, String> headers, String body) {
        JsonNode error() throws IOException {
            return JSON.readTree(body).get("error");
        }
    }

    /** Writes {@code request} as is on a fresh connection and reads the answer until the server closes it. */
    static Raw raw(int port, byte[] request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            out.write(request);
            out.flush();
            return read(s.getInputStream());
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Reads one HTTP/1.1 response (Content-Length, chunked, or to EOF). */
    static Raw read(InputStream in) throws IOException {
        String status = line(in);
        if (status == null) throw new IOException("connection closed before a response");
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        String h;
        while ((h = line(in)) != null && !h.isEmpty()) {
            int c = h.indexOf(':');
            headers.put(h.substring(0, c).trim().toLowerCase(java.util.Locale.ROOT), h.substring(c + 1).trim());
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (headers.containsKey("content-length")) {
            body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            while (true) {
                int n = Integer.parseInt(line(in).split(";")[0].trim(), 16);
                if (n == 0) {
                    line(in);
                    break;
                }
                body.write(in.readNBytes(n));
                line(in);
            }
        } else {
            body.write(in.readAllBytes());
        }
        return new Raw(Integer.parseInt(status.split(" ")[1]), headers, body.toString(StandardCharsets.UTF_8));
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') return b.toString().replaceAll("\r$", "");
            b.append((char) c);
        }
        return b.isEmpty() ? null : b.toString();
    }

    /** An OpenAI error object with this status and code, and nothing of Java's insides. */
    static void assertApiError(int status, String code, String messagePart, int gotStatus, String body) throws IOException {
        assertEquals(status, gotStatus, body);
        JsonNode err = JSON.readTree(body).get("error");
        assertTrue(err != null && err.isObject(), body);
        assertEquals(code, err.get("code").isNull() ? null : err.get("code").asText(), body);
        assertTrue(err.get("message").asText().contains(messagePart), err.toString());
        assertTrue(err.get("type").isTextual(), body);
        assertTrue(err.has("param"), body);
        assertFalse(body.contains("Exception") || body.contains("\tat ") || body.contains("java."), body);
    }

    static void awaitCondition(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.onSpinWait();
            Thread.yield();
        }
    }
}
