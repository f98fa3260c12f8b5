package dev.owl2j.tests;

import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code owl2j convert --quant} writes the blocks that {@code run --quant} would make at load: a run on the
 * pre-quantized checkpoint gives the same tokens and the same logits as quantizing the F16 fixture at load, and its
 * decoder projections are stored as Q8_0/Q4_0 (mapped, not re-quantized). Logits are compared to 1e-4 relative, not
 * bit for bit: both runs share one JVM, and the Vector API leaves the order of a lane reduction to the compiler, so
 * a kernel run before and after C2 compiles it may round its last bit differently (seen: 1.3882148 vs 1.3882147),
 * and a last-bit difference in an early layer grows through the later ones (a loaded CI run saw 1.8e-6 relative).
 * Different weights would differ far more than that.
 */
class QuantizedCheckpointTest {
    static final String PROMPT1 = "1,3148,1001,29901,1724,338,278,7483,310,3444,29973,319,1799,9047,13566,29901";

    @Test
    void preQuantizedCheckpointEqualsQuantizingAtLoad(@TempDir Path tmp) throws Exception {
        for (String q : new String[]{"q8_0", "q4_0"}) {
            Path out = tmp.resolve(q);
            Cli.Result conv = Cli.run("convert", "--model", Cli.fixture().toString(), "--out", out.toString(), "--quant", q);
            assertEquals(0, conv.exitCode(), conv.err());
            try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
                DType want = q.equals("q8_0") ? DType.Q8_0 : DType.Q4_0;
                assertEquals(want, f.get("model.layers.0.self_attn.q_proj.weight").dtype());
                assertEquals(want, f.get("model.layers.1.self_attn.k_proj.multiway.1.weight").dtype());
                assertEquals(DType.F16, f.get("model.layers.0.mlp.down_proj.weight").dtype(), "172 columns: not whole blocks");
                assertEquals(DType.F16, f.get("lm_head.weight").dtype());
            }
            Path a = tmp.resolve(q + "-a.safetensors");
            Path b = tmp.resolve(q + "-b.safetensors");
            Cli.Result atLoad = Cli.run("run", "--model", Cli.fixture().toString(), "--backend", "cpu", "--quant", q,
                    "--prompt-ids", PROMPT1, "--temperature", "0", "--max-new-tokens", "4", "--dump-logits", a.toString());
            Cli.Result stored = Cli.run("run", "--model", out.toString(), "--backend", "cpu",
                    "--prompt-ids", PROMPT1, "--temperature", "0", "--max-new-tokens", "4", "--dump-logits", b.toString());
            assertEquals(0, atLoad.exitCode(), atLoad.err());
            assertEquals(0, stored.exitCode(), stored.err());
            assertEquals(atLoad.out(), stored.out());
            try (SafetensorsFile fa = SafetensorsFile.open(a); SafetensorsFile fb = SafetensorsFile.open(b)) {
                float[] la = fa.get("logits").toFloatArray();
                float[] lb = fb.get("logits").toFloatArray();
                assertEquals(la.length, lb.length);
                for (int i = 0; i < la.length; i++) {
                    assertEquals(la[i], lb[i], 1e-4f * Math.max(1f, Math.abs(la[i])), q + " logit " + i);
                }
            }
            assertTrue(Files.size(out.resolve("model.safetensors")) < Files.size(Cli.fixture().resolve("model.safetensors")));
        }
    }
}
