package dev.owl2j.runtime.cli;

import dev.owl2j.model.TestData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.tokenizer.DefaultTokenizerBuilder;
import dev.owl2j.runtime.server.OpenAiServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code owl2j serve} end to end: starts on a free port with a checkpoint folder, answers, stops cleanly; bad options are one-line errors. */
// hang guards only (a loaded machine may be slow, never this slow): nothing here waits for a time to pass
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class ServeCommandTest {
    @AfterEach
    void clearHook() {
        ServeCommand.onStarted = null;
    }

    static Path fixture() {
        return TestData.tinyFixture();
    }

    /** The tiny fixture plus a tokenizer.json (the fixture has none). */
    static Path modelWithTokenizer(Path dir) throws Exception {
        for (String f : new String[]{"config.json", "generation_config.json", "preprocessor_config.json", "model.safetensors"}) {
            Files.copy(fixture().resolve(f), dir.resolve(f));
        }
        DefaultTokenizerBuilder.write(32000, dir.resolve("tokenizer.json"));
        return dir;
    }

    @Test
    void servesAChatRequestAndStopsWhenClosed(@TempDir Path dir) throws Exception {
        Path model = modelWithTokenizer(dir);
        CompletableFuture<OpenAiServer> started = new CompletableFuture<>();
        ServeCommand.onStarted = started::complete;
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() ->
                Owl2jCommand.execute("serve", "--model", model.toString(), "--backend", "cpu", "--port", "0", "--max-batch", "2"));
        OpenAiServer server = started.get(300, TimeUnit.SECONDS);
        String body = "{\"max_tokens\":4,\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}";
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = new ObjectMapper().readTree(r.body());
        assertEquals("chat.completion", json.get("object").asText());
        assertTrue(json.get("usage").get("completion_tokens").asInt() >= 1);
        server.close();
        assertEquals(0, exit.get(300, TimeUnit.SECONDS));
    }

    @Test
    void badOptionsAreOneLineErrors() {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            assertEquals(1, Owl2jCommand.execute("serve", "--model", fixture().toString(), "--backend", "cpu", "--max-batch", "0"));
            assertEquals(1, Owl2jCommand.execute("serve", "--model", fixture().toString(), "--backend", "cpu", "--port", "0"));
        } finally {
            System.setErr(err);
        }
        String out = buf.toString();
        assertTrue(out.contains("owl2j: --max-batch must be at least 1, got 0"), out);
        assertTrue(out.contains("has no tokenizer.model or tokenizer.json"), out);
        assertTrue(!out.contains("\tat "), out);
    }
}
