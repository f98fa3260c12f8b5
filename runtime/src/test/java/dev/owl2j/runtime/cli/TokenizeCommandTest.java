package dev.owl2j.runtime.cli;

import dev.owl2j.model.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code owl2j tokenize} through Owl2jCommand.execute, on the LLaMA-2 vocabulary of testdata/tokenizer. */
class TokenizeCommandTest {
    static Path llama() {
        return TestData.root().resolve("tokenizer/llama2-tokenizer.json.gz");
    }

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Owl2jCommand.execute(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void encodesTextAsJson() {
        // "Hello world" -> [1, 15043, 3186] as published for the LLaMA vocabulary.
        Result r = run("tokenize", "--tokenizer", llama().toString(), "--text", "Hello world");
        assertEquals(0, r.code(), r.err());
        assertEquals("{\"ids\":[1,15043,3186]}", r.out().strip());
        Result noBos = run("tokenize", "--tokenizer", llama().toString(), "--text", "Hello world", "--no-bos", "--output", "text");
        assertEquals("15043 3186", noBos.out().strip());
    }

    @Test
    void jsonLinesKeepNewlinesAndImageMarkers(@TempDir Path tmp) throws Exception {
        Path lines = tmp.resolve("in.jsonl");
        Files.writeString(lines, "\"USER: <|image|>x\"\n\n\"a\\nb\"\n");
        Result r = run("tokenize", "--tokenizer", llama().toString(), "--json-lines", lines.toString());
        assertEquals(0, r.code(), r.err());
        String[] out = r.out().strip().split("\n");
        assertEquals(2, out.length);
        assertTrue(out[0].startsWith("{\"ids\":[1,3148,1001,29901,29871,-200,"), out[0]);
        assertTrue(out[1].contains(",13,"), "newline is byte piece 13: " + out[1]);
    }

    @Test
    void decodesIds() {
        Result r = run("tokenize", "--tokenizer", llama().toString(), "--decode", "1,15043,3186,2", "--output", "text");
        assertEquals(0, r.code(), r.err());
        assertEquals("Hello world", r.out().strip());
        Result j = run("tokenize", "--tokenizer", llama().toString(), "--decode", "15043");
        assertEquals("{\"text\":\"Hello\"}", j.out().strip());
    }

    @Test
    void userErrorsAreOneLine(@TempDir Path tmp) throws Exception {
        Result missing = run("tokenize", "--model", tmp.toString(), "--text", "x");
        assertEquals(1, missing.code());
        assertEquals("owl2j: no tokenizer.model or tokenizer.json in " + tmp, missing.err().strip());
        Path bad = tmp.resolve("tokenizer.model");
        Files.write(bad, new byte[] {0x0a, 0x7f, 0x01});
        Result corrupt = run("tokenize", "--tokenizer", bad.toString(), "--text", "x");
        assertEquals(1, corrupt.code());
        assertTrue(corrupt.err().startsWith("owl2j: corrupt SentencePiece model " + bad), corrupt.err());
        assertEquals(1, corrupt.err().strip().lines().count());
        Result badIds = run("tokenize", "--tokenizer", llama().toString(), "--decode", "1,x");
        assertEquals(1, badIds.code());
        assertTrue(badIds.err().startsWith("owl2j: --decode"), badIds.err());
        Path notJson = tmp.resolve("bad.jsonl");
        Files.writeString(notJson, "plain text\n");
        Result badLine = run("tokenize", "--tokenizer", llama().toString(), "--json-lines", notJson.toString());
        assertEquals(1, badLine.code());
        assertTrue(badLine.err().contains("line 1 is not a JSON string"), badLine.err());
    }
}
