package dev.owl2j.model.checkpoint;

import dev.owl2j.model.TestData;
import dev.owl2j.model.cpu.Owl2Model;
import dev.owl2j.model.cpu.SimpleLinear;
import dev.owl2j.model.format.SafetensorsFile;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The whole model loaded from the 2-shard .bin copy (which, like the release, lacks the abstractor position
 * tables) reproduces the oracle's goldens: image0's visual tokens (1e-5 abs, Owl2ModelTest's state tolerance)
 * and prompt1's last logits (1e-4 abs).
 */
class BinCheckpointForwardTest {
    @Test
    void modelFromTheBinCopyMatchesTheGoldens() {
        try (ModelCheckpoint mc = ModelCheckpoint.open(TestData.root().resolve("tiny-owl2-bin"));
             SafetensorsFile golden = SafetensorsFile.open(TestData.golden())) {
            Owl2Model model = Owl2Model.load(mc.tensors(), mc.config(), SimpleLinear::new);
            float[] tokens = model.encodeImage(golden.get("image0.pixel_values").toFloatArray());
            assertClose("image0.visual_tokens", golden.get("image0.visual_tokens").toFloatArray(), tokens, 1e-5);

            long[] ids64 = golden.get("prompt1.input_ids").toLongArray();
            int[] ids = new int[ids64.length];
            for (int i = 0; i < ids.length; i++) ids[i] = Math.toIntExact(ids64[i]);
            float[] logits = model.newSession().prefill(ids, List.of());
            assertClose("prompt1.last_logits", golden.get("prompt1.last_logits").toFloatArray(), logits, 1e-4);
        }
    }

    private static void assertClose(String what, float[] want, float[] got, double tol) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], tol, what + "[" + i + "]");
        }
    }
}
