package dev.owl2j.runtime.generation;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {
    /**
     * Independent oracle: the nucleus written the other way round (descending order, keep tokens until the
     * mass before them reaches top_p), which is what TopPLogitsWarper's ascending formulation amounts to.
     */
    private static double[] oracle(float[] logits, double t, int k, double topP) {
        int n = logits.length;
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < n; i++) idx.add(i);
        idx.sort(Comparator.comparingDouble((Integer i) -> -logits[i]));
        double kth = k > 0 && k < n ? logits[idx.get(k - 1)] : Double.NEGATIVE_INFINITY;
        double max = logits[idx.get(0)] / t, z = 0;
        for (int i : idx) if (logits[i] >= kth) z += Math.exp(logits[i] / t - max);
        double[] p = new double[n];
        double before = 0;
        boolean[] keep = new boolean[n];
        for (int i : idx) {
            if (logits[i] < kth) break;
            double pi = Math.exp(logits[i] / t - max) / z;
            // ascending rule removes a token when the mass strictly below-or-equal it is <= 1-topP,
            // i.e. descending: keep while the mass of strictly better tokens is < topP
            if (before < topP || before == 0) keep[i] = true;
            before += pi;
        }
        double zz = 0;
        for (int i = 0; i < n; i++) if (keep[i]) zz += Math.exp(logits[i] / t - max);
        for (int i = 0; i < n; i++) if (keep[i]) p[i] = Math.exp(logits[i] / t - max) / zz;
        return p;
    }

    @Test
    void filteredDistributionMatchesOracleOnRandomLogits() {
        Random r = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            int n = 2 + r.nextInt(300);
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = (float) (r.nextGaussian() * 3);
            double t = 0.1 + r.nextDouble() * 2;
            int k = r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(n);
            double topP = r.nextInt(4) == 0 ? 1.0 : 0.05 + r.nextDouble() * 0.9;
            double[] got = Sampler.probabilities(logits, t, k, topP);
            double[] want = oracle(logits, t, k, topP);
            for (int i = 0; i < n; i++) {
                assertEquals(want[i], got[i], 1e-9, "trial " + trial + " token " + i);
            }
        }
    }

    @Test
    void greedyIsArgmaxWithLowestIdOnTies() {
        assertEquals(1, Sampler.argmax(new float[]{0f, 3f, 3f, -1f}));
        Sampler s = new Sampler(SamplingParams.greedy(5));
        assertEquals(2, s.next(new float[]{1f, 2f, 5f, 5f}));
    }

    @Test
    void topKOneAlwaysPicksTheBestAndSeedsReproduce() {
        float[] logits = {0.5f, 2.5f, 1.0f, 2.4f};
        Sampler k1 = new Sampler(new SamplingParams(1.0, 1, 1.0, 3L, 1, null));
        for (int i = 0; i < 50; i++) assertEquals(1, k1.next(logits));
        Sampler a = new Sampler(new SamplingParams(1.0, 0, 1.0, 42L, 1, null));
        Sampler b = new Sampler(new SamplingParams(1.0, 0, 1.0, 42L, 1, null));
        for (int i = 0; i < 50; i++) assertEquals(a.next(logits), b.next(logits));
    }

    @Test
    void drawsFollowTheDistribution() {
        float[] logits = {0f, (float) Math.log(3), -50f};
        Sampler s = new Sampler(new SamplingParams(1.0, 0, 1.0, 11L, 1, null));
        int[] counts = new int[3];
        int n = 40000;
        for (int i = 0; i < n; i++) counts[s.next(logits)]++;
        // p = (0.25, 0.75, ~0): 5 standard deviations of a binomial with n = 40000 is about 0.011
        assertEquals(0.25, counts[0] / (double) n, 0.011);
        assertEquals(0.75, counts[1] / (double) n, 0.011);
        assertEquals(0, counts[2]);
    }

    @Test
    void badParametersAreRefused() {
        assertThrows(dev.owl2j.model.Owl2jException.class, () -> new SamplingParams(-1, 0, 1, null, 1, null));
        assertThrows(dev.owl2j.model.Owl2jException.class, () -> new SamplingParams(1, 0, 0, null, 1, null));
        assertThrows(dev.owl2j.model.Owl2jException.class, () -> new SamplingParams(1, 0, 1, null, 0, null));
    }

    @Test
    void nonFiniteLogitsAreReportedNeverTurnedIntoATokenGreedyOrSampled() {
        float[][] poisoned = {
                {0.5f, Float.NaN, 1f},                       // one NaN
                {Float.NaN, Float.NaN, Float.NaN},           // all NaN: argmax would have said 0
                {0.5f, Float.POSITIVE_INFINITY, 1f},         // +inf: the softmax is NaN
                {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}}; // nothing finite to choose from
        SamplingParams[] params = {SamplingParams.greedy(1), new SamplingParams(0.7, 0, 1.0, 1L, 1, null),
                new SamplingParams(1.0, 2, 0.9, 1L, 1, null)};
        for (float[] logits : poisoned) {
            for (SamplingParams p : params) {
                NonFiniteLogitsException e = assertThrows(NonFiniteLogitsException.class, () -> new Sampler(p).next(logits));
                assertTrue(e.getMessage().startsWith("the model produced invalid logits ("), e.getMessage());
            }
        }
        // -infinity alone is a masked token, not poison
        assertEquals(1, new Sampler(SamplingParams.greedy(1)).next(new float[]{Float.NEGATIVE_INFINITY, 0f}));
        assertEquals(1, new Sampler(new SamplingParams(1.0, 0, 1.0, 5L, 1, null)).next(new float[]{Float.NEGATIVE_INFINITY, 0f}));
    }

    @Test
    void temperaturesBelowTheFloorAreGreedy() {
        Random r = new Random(3);
        for (double t : new double[]{1e-320, Double.MIN_VALUE, 1e-300, 1e-9, SamplingParams.MIN_TEMPERATURE / 2}) {
            SamplingParams p = new SamplingParams(t, 0, 1.0, 9L, 1, null);
            assertTrue(p.isGreedy(), "temperature " + t);
            assertEquals(0.0, p.temperature());
            for (int trial = 0; trial < 20; trial++) {
                float[] logits = new float[50];
                for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextGaussian() * 20);
                assertEquals(Sampler.argmax(logits), new Sampler(p).next(logits));
            }
        }
        // at the floor sampling is still sampling
        assertTrue(!new SamplingParams(SamplingParams.MIN_TEMPERATURE, 0, 1.0, 9L, 1, null).isGreedy());
    }
}
