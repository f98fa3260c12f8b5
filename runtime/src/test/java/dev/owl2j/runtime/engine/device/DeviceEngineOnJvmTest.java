package dev.owl2j.runtime.engine.device;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.Engines;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The whole model on the java backend (the device kernels run as Java on the JVM, --backend java) against the
 * fixture's float64-oracle goldens with the device tests' tolerances: visual tokens 1e-5 abs, logits 1e-4 abs at
 * every greedy step, greedy tokens identical. One image prompt and the text-only prompt (the JVM backend is slow;
 * the other prompt adds the second image, which DeviceEngineTest covers on OpenCL).
 */
class DeviceEngineOnJvmTest {
    static final int GREEDY_STEPS = 8;
    static SafetensorsFile golden;
    static JsonNode manifest;
    static Engine engine;

    @BeforeAll
    static void open() throws IOException {
        Path fixture = Path.of(System.getProperty("owl2j.testdata", "../testdata")).resolve("tiny-owl2-f16");
        golden = SafetensorsFile.open(fixture.resolve("golden/golden.safetensors"));
        manifest = new ObjectMapper().readTree(fixture.resolve("golden/manifest.json").toFile());
        engine = Engines.open(SafetensorsFile.open(fixture.resolve("model.safetensors")), Owl2Config.read(fixture.resolve("config.json")),
                "java", 0, null);
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
        if (golden != null) golden.close();
    }

    static JsonNode prompt(String name) {
        for (JsonNode p : manifest.get("prompts")) if (p.get("name").asText().equals(name)) return p;
        throw new IllegalArgumentException(name);
    }

    static void assertAllClose(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (!(d <= max)) {
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                worst = i;
            }
        }
        if (!(max <= tol)) fail(String.format("%s: max abs error %.3e at %d > %.1e", what, max, worst, tol));
        System.out.printf("java backend %s: max abs error %.3e (tolerance %.1e)%n", what, max, tol);
    }

    void promptMatchesTheOracle(String name) {
        JsonNode p = prompt(name);
        int[] ids = new int[p.get("ids").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = p.get("ids").get(i).asInt();
        List<float[]> visual = new java.util.ArrayList<>();
        for (JsonNode n : p.get("images")) {
            float[] tokens = engine.encodeImage(golden.get(n.asText() + ".pixel_values").toFloatArray());
            assertAllClose(n.asText() + ".visual_tokens", golden.get(n.asText() + ".visual_tokens").toFloatArray(), tokens, 1e-5);
            visual.add(tokens);
        }
        long[] expected = golden.get(name + ".greedy_tokens").toLongArray();
        float[] top = golden.get(name + ".step_top_logits").toFloatArray();
        long[] topIds = golden.get(name + ".step_top_ids").toLongArray();
        try (Engine.Session s = engine.newSession()) {
            float[] l = s.prefill(ids, visual);
            assertAllClose(name + ".last_logits", golden.get(name + ".last_logits").toFloatArray(), l, 1e-4);
            long[] tokens = new long[GREEDY_STEPS];
            for (int step = 0; step < GREEDY_STEPS; step++) {
                float[] e = new float[8], a = new float[8];
                for (int j = 0; j < 8; j++) {
                    e[j] = top[step * 8 + j];
                    a[j] = l[(int) topIds[step * 8 + j]];
                }
                assertAllClose(name + " step " + step + " top-8 logits", e, a, 1e-4);
                int best = 0;
                for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
                tokens[step] = best;
                if (step + 1 < GREEDY_STEPS) l = s.step(best);
            }
            assertArrayEquals(expected, tokens, name + ".greedy_tokens");
        }
    }

    @Test
    void imagePromptMatchesTheOracle() {
        promptMatchesTheOracle("prompt0");
    }

    @Test
    void textPromptMatchesTheOracle() {
        promptMatchesTheOracle("prompt1");
    }
}
