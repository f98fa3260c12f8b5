package dev.owl2j.runtime.cli;

import dev.owl2j.model.TestData;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PreprocessCommandTest {
    static Path fixture() {
        return TestData.tinyFixture();
    }

    static void assertBitIdentical(Path out, String goldenName) {
        try (SafetensorsFile got = SafetensorsFile.open(out);
             SafetensorsFile golden = SafetensorsFile.open(fixture().resolve("golden/golden.safetensors"))) {
            Tensor t = got.get("pixel_values");
            assertEquals(DType.F32, t.dtype());
            assertArrayEquals(new long[]{3, 448, 448}, t.shape());
            float[] expected = golden.get(goldenName).toFloatArray();
            float[] actual = t.toFloatArray();
            assertEquals(expected.length, actual.length);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]), "element " + i);
            }
        }
    }

    @Test
    void pngAndJpegMatchTheGoldenPixelValues(@TempDir Path dir) {
        Path out0 = dir.resolve("p0.safetensors");
        assertEquals(0, Owl2jCommand.execute("preprocess", "--image", fixture().resolve("image0.png").toString(),
                "--model", fixture().toString(), "--out", out0.toString()));
        assertBitIdentical(out0, "image0.pixel_values");
        Path out1 = dir.resolve("p1.safetensors");
        assertEquals(0, Owl2jCommand.execute("preprocess", "--image", fixture().resolve("image1.jpg").toString(),
                "--aspect", "pad", "--out", out1.toString()));
        assertBitIdentical(out1, "image1.pixel_values");
    }

    static String stderrOf(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(1, Owl2jCommand.execute(args));
        } finally {
            System.setErr(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void userErrorsAreOneLine(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("x.safetensors");
        String missing = stderrOf("preprocess", "--image", dir.resolve("none.png").toString(), "--out", out.toString());
        assertEquals("owl2j: image " + dir.resolve("none.png") + " does not exist", missing.strip());
        assertEquals(1, missing.strip().lines().count(), missing);
        String aspect = stderrOf("preprocess", "--image", fixture().resolve("image0.png").toString(), "--aspect", "zoom",
                "--out", out.toString());
        assertTrue(aspect.contains("owl2j: unknown image aspect mode 'zoom'"), aspect);
        Path txt = Files.writeString(dir.resolve("notes.txt"), "not an image");
        String bad = stderrOf("preprocess", "--image", txt.toString(), "--out", out.toString());
        assertTrue(bad.contains("notes.txt") && bad.contains("unsupported"), bad);
        assertFalse(Files.exists(out));
    }
}
