package dev.owl2j.runtime.cli;

import dev.owl2j.model.TestData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** owl2j inspect / convert through Owl2jCommand.execute, on the repository's tiny fixture and its .bin copy. */
class CheckpointCommandsTest {
    record Run(int code, String out, String err) {}

    static Path testdata() {
        return TestData.root();
    }

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Owl2jCommand.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void inspectPrintsFormatDtypesAndParametersAsJson() throws Exception {
        Run r = run("inspect", "--model", testdata().resolve("tiny-owl2-bin").toString(), "--output", "json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("pytorch .bin (2 shards)", j.get("format").asText());
        assertEquals(2, j.get("files").size());
        assertEquals(108, j.get("tensors_by_dtype").get("F16").asInt());
        assertEquals(2, j.get("tensors_by_dtype").get("F32").asInt());
        assertEquals(4, j.get("computed").size());
        assertEquals(0, j.get("unexpected").size());
        JsonNode p = j.get("parameters");
        assertEquals(p.get("vision").asLong() + p.get("abstractor").asLong() + p.get("decoder").asLong(), p.get("total").asLong());
        assertTrue(p.get("decoder").asLong() > 2 * 32000 * 64);

        Run text = run("inspect", "--model", testdata().resolve("tiny-owl2-f16").toString());
        assertEquals(0, text.code(), text.err());
        assertTrue(text.out().contains("format: safetensors"), text.out());
        assertTrue(text.out().contains("unexpected: 0"), text.out());
    }

    @Test
    void userErrorsAreOneLine(@TempDir Path tmp) {
        Run r = run("inspect", "--model", tmp.resolve("nope").toString());
        assertEquals(1, r.code());
        assertEquals("owl2j: model directory not found: " + tmp.resolve("nope") + System.lineSeparator(), r.err());
        Run q = run("convert", "--model", testdata().resolve("tiny-owl2-bin").toString(), "--out", tmp.resolve("q").toString(), "--quant", "q3_k");
        assertEquals(1, q.code());
        assertEquals("owl2j: unknown --quant 'q3_k': use q8_0 or q4_0", q.err().trim());
        Run s = run("convert", "--model", testdata().resolve("tiny-owl2-bin").toString(), "--out", tmp.resolve("s").toString(), "--shard-size", "lots");
        assertEquals(1, s.code());
        assertTrue(s.err().startsWith("owl2j: cannot parse size lots"), s.err());
    }

    @Test
    void convertBinToShardedBf16SafetensorsThenInspect(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("bf16");
        Run r = run("convert", "--model", testdata().resolve("tiny-owl2-bin").toString(), "--out", out.toString(),
                "--dtype", "bf16", "--shard-size", "2MB");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors.index.json")));
        for (String j : new String[]{"config.json", "generation_config.json", "preprocessor_config.json"}) {
            assertEquals(-1L, Files.mismatch(testdata().resolve("tiny-owl2-bin").resolve(j), out.resolve(j)), j);
        }
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model-00001-of-" + String.format("%05d", countShards(out)) + ".safetensors"))) {
            for (String n : f.names()) {
                assertEquals(n.endsWith("inv_freq") ? DType.F32 : DType.BF16, f.get(n).dtype(), n);
            }
        }
        Run i = run("inspect", "--model", out.toString(), "--output", "json");
        assertEquals(0, i.code(), i.err());
        JsonNode j = new ObjectMapper().readTree(i.out());
        assertEquals(108, j.get("tensors_by_dtype").get("BF16").asInt());
        Run again = run("convert", "--model", testdata().resolve("tiny-owl2-bin").toString(), "--out", out.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().contains("already holds weights"), again.err());
    }

    private static long countShards(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count();
        }
    }
}
