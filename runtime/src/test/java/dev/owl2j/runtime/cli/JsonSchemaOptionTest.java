package dev.owl2j.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.runtime.generation.json.SchemaValidator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code owl2j run --json-schema FILE}: the tiny fixture with a tokenizer writes JSON valid against the schema
 * (checked by an independent validator); a bad schema file or an unsupported keyword is a one-line error.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class JsonSchemaOptionTest {
    record Out(int code, String out, String err) {}

    static Out run(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true));
        System.setErr(new PrintStream(e, true));
        try {
            return new Out(Owl2jCommand.execute(args), o.toString(), e.toString());
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void runWritesJsonOfTheSchema(@TempDir Path dir) throws Exception {
        Path model = ServeCommandTest.modelWithTokenizer(Files.createDirectory(dir.resolve("model")));
        String schemaText = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":10},"
                + "\"rank\":{\"type\":\"integer\"},\"open\":{\"type\":\"boolean\"}},\"required\":[\"city\",\"rank\",\"open\"]}";
        Path schema = Files.writeString(dir.resolve("schema.json"), schemaText);
        for (String seed : new String[]{"1", "2", "3"}) {
            Out r = run("run", "--model", model.toString(), "--backend", "cpu", "--prompt", "Name a city.", "--json-schema", schema.toString(),
                    "--temperature", "1", "--seed", seed, "--max-new-tokens", "120", "--output", "json");
            assertEquals(0, r.code(), r.err());
            JsonNode answer = new ObjectMapper().readTree(r.out().strip());
            SchemaValidator.validate(new ObjectMapper().readTree(answer.get("text").asText()), new ObjectMapper().readTree(schemaText));
        }
    }

    @Test
    void badSchemasAreOneLineErrors(@TempDir Path dir) throws Exception {
        Path model = ServeCommandTest.modelWithTokenizer(Files.createDirectory(dir.resolve("model")));
        Path unsupported = Files.writeString(dir.resolve("u.json"), "{\"type\":\"string\",\"pattern\":\"^a\"}");
        Path broken = Files.writeString(dir.resolve("b.json"), "{\"type\":");
        Path missing = dir.resolve("missing.json");
        for (Object[] c : new Object[][]{{unsupported, "unsupported keyword pattern at #"}, {broken, "not valid JSON"},
                {missing, "not a regular file"}, {dir, "not a regular file"}}) {
            Out r = run("run", "--model", model.toString(), "--backend", "cpu", "--prompt", "x", "--json-schema", c[0].toString());
            assertEquals(1, r.code());
            String line = r.err().strip();
            assertTrue(line.startsWith("owl2j: ") && line.contains((String) c[1]) && !line.contains("\n"), line);
        }
    }
}
