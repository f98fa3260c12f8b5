package dev.owl2j.model.cpu;

import dev.owl2j.model.cpu.kernel.Linears;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.LogitAgreement;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Q8_0 and Q4_0 decoder weights against the F16 fixture model on the three fixture prompts: prefill, then 8
 * greedy steps teacher-forced with the F16 model's tokens so every position compares like with like. Reports
 * (stdout) the mean and max KL(p_F16 ‖ p_quant) and the top-1 agreement over the 3 × 8 positions. Q4_0 runs twice:
 * row-major with float activations, and repacked into row tiles whose decode and batched kernels quantize the
 * activations to Q8_0 as llama.cpp does (Q4Tiles; the fixture's prompts are shorter than the prefill threshold,
 * so every position here goes through the integer kernels). Q8_0 runs in row tiles (Q8Tiles, x in float, the
 * same arithmetic as the row-major kernel). Asserted, loosely: Q8_0 picks the same top-1 token on
 * every prompt's prefill logits and its mean KL is below 0.01; both Q4_0 forms' mean KL is below 0.5. (The
 * fixture's down_proj has 172 columns, not a multiple of 32, so it stays F16; every other decoder projection is
 * quantized.)
 */
class QuantizedAccuracyTest {
    static final String[] PROMPTS = {"prompt0", "prompt1", "prompt2"};
    static final int STEPS = 8;

    @Test
    void quantizedModelsStayCloseToF16() {
        Owl2Model f16 = Fixture.model();
        Owl2Model q8 = Owl2Model.load(Fixture.WEIGHTS, Fixture.CONFIG, Linears.factory(DType.Q8_0));
        Owl2Model q4 = Owl2Model.load(Fixture.WEIGHTS, Fixture.CONFIG, Linears.factory(DType.Q4_0, false));
        Owl2Model q4x = Owl2Model.load(Fixture.WEIGHTS, Fixture.CONFIG, Linears.factory(DType.Q4_0, true));
        LogitAgreement s8 = new LogitAgreement();
        LogitAgreement s4 = new LogitAgreement();
        LogitAgreement s4x = new LogitAgreement();
        for (String prompt : PROMPTS) {
            int[] ids = Fixture.promptIds(prompt);
            List<float[]> images = Owl2ModelTest.imagesOf(prompt);
            // The visual tokens are the same for all three (only the decoder is quantized).
            float[][] prefill = teacherForced(ids, images, f16, new Owl2Model[]{q8, q4, q4x}, new LogitAgreement[]{s8, s4, s4x});
            assertEquals(Owl2ModelTest.argmax(prefill[0]), Owl2ModelTest.argmax(prefill[1]), prompt + ": Q8_0 top-1 of the prefill logits");
        }
        System.out.println("[quantized accuracy, tiny fixture, 3 prompts x 8 positions] " + s8.format("Q8_0") + "; "
                + s4.format("Q4_0 row-major, float x") + "; " + s4x.format("Q4_0 tiles, x as Q8_0"));
        assertTrue(s8.meanKl() < 0.01, s8.format("Q8_0"));
        assertTrue(s4.meanKl() < 0.5, s4.format("Q4_0"));
        assertTrue(s4x.meanKl() < 0.5, s4x.format("Q4_0 tiles"));
    }

    /**
     * A text prompt of 60 positions, longer than the batched-decode kernel's rows, so prefill runs the prefill
     * kernels: Q4_0 row-major (float x) and Q4_0 in row tiles, whose prefill with 512-bit vectors quantizes x to
     * Q8_0 and multiplies in 16-bit integers ({@code owl2j.int16Prefill}, on by default) and with narrower vectors
     * keeps x in float. Prefill logits and 8 teacher-forced steps against F16, reported like the test above;
     * asserted as loosely (mean KL below 0.5).
     */
    @Test
    void longPromptsThroughThePrefillKernels() {
        Owl2Model f16 = Fixture.model();
        Owl2Model q4 = Owl2Model.load(Fixture.WEIGHTS, Fixture.CONFIG, Linears.factory(DType.Q4_0, false));
        Owl2Model q4x = Owl2Model.load(Fixture.WEIGHTS, Fixture.CONFIG, Linears.factory(DType.Q4_0, true));
        LogitAgreement s4 = new LogitAgreement();
        LogitAgreement s4x = new LogitAgreement();
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(21);
        for (int p = 0; p < 3; p++) {
            int[] ids = new int[60];
            ids[0] = 1;
            for (int i = 1; i < ids.length; i++) ids[i] = 3 + rnd.nextInt(31_000);
            teacherForced(ids, List.of(), f16, new Owl2Model[]{q4, q4x}, new LogitAgreement[]{s4, s4x});
        }
        int bits = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        boolean int16 = bits == 512 && dev.owl2j.model.Settings.fromSystem().int16Prefill();
        System.out.println("[quantized accuracy, tiny fixture, 3 text prompts of 60 positions x 8 positions] "
                + s4.format("Q4_0 row-major, float x") + "; " + s4x.format("Q4_0 tiles, prefill "
                + (int16 ? "with x as Q8_0 (16-bit integer prefill, " : "with x in float (") + bits + "-bit vectors)"));
        assertTrue(s4.meanKl() < 0.5, s4.format("Q4_0"));
        assertTrue(s4x.meanKl() < 0.5, s4x.format("Q4_0 tiles"));
    }

    /**
     * Prefill of ids on the reference and every quantized model, then STEPS − 1 greedy steps with the reference's
     * tokens fed to all of them; each position's logits go into the model's LogitAgreement against the reference's. Returns
     * the prefill logits, the reference's first.
     */
    static float[][] teacherForced(int[] ids, List<float[]> images, Owl2Model reference, Owl2Model[] quantized, LogitAgreement[] stats) {
        Session ref = reference.newSession();
        Session[] q = new Session[quantized.length];
        float[][] prefill = new float[quantized.length + 1][];
        float[] lr = prefill[0] = ref.prefill(ids, images);
        float[][] lq = new float[quantized.length][];
        for (int m = 0; m < q.length; m++) {
            q[m] = quantized[m].newSession();
            lq[m] = prefill[m + 1] = q[m].prefill(ids, images);
        }
        for (int step = 0; step < STEPS; step++) {
            for (int m = 0; m < q.length; m++) {
                stats[m].add(lr, lq[m]);
            }
            if (step + 1 < STEPS) {
                int t = Owl2ModelTest.argmax(lr);
                lr = ref.step(t);
                for (int m = 0; m < q.length; m++) {
                    lq[m] = q[m].step(t);
                }
            }
        }
        return prefill;
    }
}
