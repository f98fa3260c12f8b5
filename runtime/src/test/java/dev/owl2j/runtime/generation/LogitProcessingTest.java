package dev.owl2j.runtime.generation;

import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Penalties and biases against plain reference implementations written here from their definitions:
 * transformers' RepetitionPenaltyLogitsProcessor (each token of the prompt and the reply once: a negative score
 * times the penalty, a positive one divided), OpenAI's presence and frequency penalties
 * (mu[j] - c[j]·frequency - [c[j] > 0]·presence over the reply's counts), and logit_bias (added). Each step of a
 * generation with fresh random logits is compared element by element.
 */
class LogitProcessingTest {
    /** The reference: a fresh computation from the definitions, in double. */
    static double[] reference(float[] raw, int[] prompt, List<Integer> reply, double presence, double frequency,
                              double repetition, Map<Integer, Double> bias) {
        double[] out = new double[raw.length];
        for (int i = 0; i < raw.length; i++) out[i] = raw[i];
        for (Map.Entry<Integer, Double> e : bias.entrySet()) out[e.getKey()] += e.getValue();
        Set<Integer> seen = new HashSet<>();
        for (int id : prompt) if (id >= 0) seen.add(id);
        seen.addAll(reply);
        for (int id : seen) out[id] = out[id] < 0 ? out[id] * repetition : out[id] / repetition;
        Map<Integer, Integer> counts = new HashMap<>();
        for (int id : reply) counts.merge(id, 1, Integer::sum);
        for (Map.Entry<Integer, Integer> e : counts.entrySet()) {
            out[e.getKey()] -= e.getValue() * frequency + (e.getValue() > 0 ? presence : 0);
        }
        return out;
    }

    @Test
    void everyStepMatchesTheReferenceDefinitions() {
        Random r = new Random(11);
        double[][] settings = {{0, 0, 1.3}, {0.7, 0, 1}, {0, 1.1, 1}, {-0.5, 0.4, 0.8}, {2, 2, 2}, {-2, -2, 1}};
        int repeated = 0;
        for (double[] s : settings) {
            int vocab = 50;
            int[] prompt = {1, 7, -200, 7, 12, 3};
            Map<Integer, Double> bias = Map.of(5, 3.5, 9, -100.0, 0, 1.0);
            SamplingParams p = new SamplingParams(0.9, 0, 1.0, 42L, 40, List.of())
                    .withProcessing(new LogitProcessing(s[0], s[1], s[2], bias, null));
            Sampler sampler = new Sampler(p, prompt);
            List<Integer> reply = new ArrayList<>();
            for (int step = 0; step < 40; step++) {
                float[] raw = new float[vocab];
                for (int i = 0; i < vocab; i++) raw[i] = (float) (r.nextGaussian() * 4);
                // a few small vocabulary ids recur often, so counts above 1 happen
                raw[step % 4] += 6;
                float[] got = sampler.process(raw);
                double[] want = reference(raw, prompt, reply, s[0], s[1], s[2], bias);
                for (int i = 0; i < vocab; i++) {
                    assertEquals(want[i], got[i], 1e-4 * Math.max(1, Math.abs(want[i])), "settings " + java.util.Arrays.toString(s) + " step " + step + " token " + i);
                }
                int id = Sampler.pick(got, p, r.nextDouble());
                sampler.accept(id);
                reply.add(id);
            }
            if (reply.stream().distinct().count() < reply.size()) repeated++;
        }
        assertTrue(repeated >= 4, "tokens repeated in most settings, so counts above 1 were exercised");
    }

    @Test
    void nextAppliesTheProcessingAndGreedyPicksItsArgmax() {
        float[] raw = {5f, 4.9f, -1f, 0f};
        SamplingParams greedy = new SamplingParams(0, 0, 1.0, 1L, 5, List.of())
                .withProcessing(new LogitProcessing(0, 1.0, 1, Map.of(), null));
        Sampler s = new Sampler(greedy);
        assertEquals(0, s.next(raw));      // nothing generated yet
        assertEquals(1, s.next(raw));      // token 0 now costs 1.0: 4.0 < 4.9
        assertEquals(0, s.next(raw));      // 0 at 4.0, 1 at 3.9
        assertEquals(1, s.next(raw));      // 0 at 3.0, 1 at 3.9
        // The repetition penalty over the prompt: token 0 (positive) divided, token 2 (negative) multiplied.
        Sampler rp = new Sampler(new SamplingParams(0, 0, 1.0, 1L, 5, List.of())
                .withProcessing(new LogitProcessing(0, 0, 2.0, Map.of(), null)), new int[]{0, 2});
        assertArrayEquals(new float[]{2.5f, 4.9f, -2f, 0f}, rp.process(raw));
        // A bias of +100 forces a token, -100 bans it.
        Sampler b = new Sampler(new SamplingParams(1.0, 0, 1.0, 3L, 5, List.of())
                .withProcessing(new LogitProcessing(0, 0, 1, Map.of(3, 100.0, 0, -100.0), null)));
        for (int i = 0; i < 20; i++) assertEquals(3, b.next(raw));
        // The raw logits are never changed in place.
        assertArrayEquals(new float[]{5f, 4.9f, -1f, 0f}, raw);
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(Owl2jException.class, () -> new LogitProcessing(2.5, 0, 1, Map.of(), null));
        assertThrows(Owl2jException.class, () -> new LogitProcessing(0, -2.01, 1, Map.of(), null));
        assertThrows(Owl2jException.class, () -> new LogitProcessing(0, 0, 0, Map.of(), null));
        assertThrows(Owl2jException.class, () -> new LogitProcessing(0, 0, Double.NaN, Map.of(), null));
        assertThrows(Owl2jException.class, () -> new LogitProcessing(0, 0, 1, Map.of(1, 101.0), null));
        assertThrows(Owl2jException.class, () -> new LogitProcessing(0, 0, 1, Map.of(-1, 1.0), null));
        assertTrue(LogitProcessing.NONE.isNone());
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheRawLogitsWithSortedAlternatives() {
        Random r = new Random(3);
        for (int trial = 0; trial < 50; trial++) {
            float[] logits = new float[300];
            for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextGaussian() * 5);
            logits[17] = logits[4]; // a tie: the lower id first
            int chosen = r.nextInt(logits.length);
            int top = r.nextInt(TokenLogprob.MAX_TOP + 1);
            TokenLogprob lp = TokenLogprob.of(logits, chosen, top);
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits) max = Math.max(max, l);
            double sum = 0;
            for (float l : logits) sum += Math.exp(l - max);
            assertEquals(logits[chosen] - max - Math.log(sum), lp.logprob(), 0.0); // the same expression as /v1/score
            assertEquals(top, lp.topTokens().length);
            Integer[] order = new Integer[logits.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            java.util.Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
            for (int k = 0; k < top; k++) {
                assertEquals(order[k], lp.topTokens()[k], "rank " + k);
                assertEquals(logits[order[k]] - max - Math.log(sum), lp.topLogprobs()[k], 0.0);
            }
        }
    }
}
