package dev.owl2j.model.cpu;

import dev.owl2j.model.NumericAssert;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A batched decode step over sessions at different positions equals each session's own step (tolerance 1e-5
 * on every logit), greedy sequences decoded in a batch equal those decoded alone, and a forked session
 * continues exactly as the original.
 */
class BatchStepTest {
    static final double TOLERANCE = 1e-5;

    @Test
    void batchedStepsEqualSingleStepsAtDifferentPositions() {
        Owl2Model model = Fixture.model();
        String[] prompts = {"prompt0", "prompt1", "prompt2"};
        int n = prompts.length;
        List<Session> batched = new ArrayList<>();
        List<Session> single = new ArrayList<>();
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            int[] ids = Fixture.promptIds(prompts[i]);
            List<float[]> images = Owl2ModelTest.imagesOf(prompts[i]);
            Session b = model.newSession();
            Session s = model.newSession();
            float[] lb = b.prefill(ids, images);
            s.prefill(ids, images);
            batched.add(b);
            single.add(s);
            next[i] = Owl2ModelTest.argmax(lb);
        }
        // Positions differ: 80, 16 and 149 after the prefills.
        int[][] generated = new int[n][8];
        for (int step = 0; step < 8; step++) {
            int[] tokens = next.clone();
            float[][] logits = model.stepBatch(batched, tokens);
            for (int i = 0; i < n; i++) {
                generated[i][step] = tokens[i];
                float[] expected = single.get(i).step(tokens[i]);
                NumericAssert.assertAllClose(prompts[i] + " step " + step, expected, logits[i], TOLERANCE);
                assertEquals(single.get(i).position(), batched.get(i).position());
                next[i] = Owl2ModelTest.argmax(logits[i]);
            }
        }
        for (int i = 0; i < n; i++) {
            assertArrayEquals(Fixture.goldenInts(prompts[i] + ".greedy_tokens"), generated[i],
                    prompts[i] + " batched greedy tokens vs golden");
        }
    }

    @Test
    void aBatchOfOneAndAForkContinueLikeTheOriginal() {
        Owl2Model model = Fixture.model();
        Session a = model.newSession();
        float[] logits = a.prefill(Fixture.promptIds("prompt1"), List.of());
        Session b = a.fork();
        int token = Owl2ModelTest.argmax(logits);
        float[] viaFork = model.stepBatch(List.of(b), new int[]{token})[0];
        float[] viaOriginal = a.step(token);
        NumericAssert.assertAllClose("fork + batch of one vs step", viaOriginal, viaFork, TOLERANCE);
        assertEquals(a.position(), b.position());
    }
}
