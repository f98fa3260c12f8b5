package dev.owl2j.model.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * Attention.attend (both the decode path, < 4 queries, and the blocked path) against a double-precision
 * reference written from the definition, on fused head-interleaved layouts like the vision tower's and on a
 * causal, grouped-query, chunked case (firstQueryPosition > 0, query counts not multiples of 4), with head sizes
 * that leave vector tails, and one query over caches long enough for the streaming path.
 * Tolerance: 2e-6 abs (outputs are convex combinations of values in [-1, 1]).
 */
class AttentionTest {
    @ParameterizedTest
    @CsvSource({
            // nQueries, nKeys, heads, kvHeads, headDim, causal, firstQueryPosition
            "1, 9, 4, 2, 16, true, 8", "2, 33, 4, 4, 32, true, 31", "3, 3, 2, 1, 16, false, 0",
            "37, 37, 4, 4, 16, false, 0", "13, 29, 8, 2, 32, true, 16", "70, 70, 4, 1, 64, true, 0",
            // head sizes with vector tails (8, 24, 40, 72) and key counts past several key vectors
            "9, 50, 2, 2, 8, false, 0", "22, 61, 3, 1, 24, true, 39", "17, 97, 2, 2, 40, false, 0",
            "41, 41, 2, 1, 72, true, 0", "6, 130, 2, 2, 64, false, 0",
            // one query over long caches (the streaming path from 256 positions), and decode's two or three queries
            "1, 303, 4, 2, 72, true, 302", "1, 260, 2, 2, 40, false, 0", "1, 400, 2, 1, 64, true, 299",
            "2, 150, 2, 2, 40, true, 148", "3, 67, 2, 1, 128, false, 0", "1, 5, 2, 2, 8, true, 4"})
    void matchesDoubleReference(int nQueries, int nKeys, int heads, int kvHeads, int headDim, boolean causal, int first) {
        Random rnd = new Random(nQueries * 131L + nKeys);
        // q in its own [nQueries, heads·headDim]; k and v interleaved in one [nKeys, 2·kvHeads·headDim] buffer
        float[] q = random(nQueries * heads * headDim, rnd);
        float[] kv = random(nKeys * 2 * kvHeads * headDim, rnd);
        int kvRow = 2 * kvHeads * headDim;
        Attention.HeadLayout ql = new Attention.HeadLayout(q, 0, heads * headDim, headDim);
        float[] out = new float[nQueries * heads * headDim];
        float scale = (float) (1 / Math.sqrt(headDim));
        // keys and values on the heap (the vision tower's fused buffer) and off it (the decoder's KV cache)
        try (Arena arena = Arena.ofShared()) {
            MemorySegment offHeap = arena.allocate((long) kv.length * Float.BYTES, 64);
            MemorySegment.copy(kv, 0, offHeap, ValueLayout.JAVA_FLOAT, 0, kv.length);
            for (MemorySegment kvData : new MemorySegment[]{MemorySegment.ofArray(kv), offHeap}) {
                java.util.Arrays.fill(out, Float.NaN);
                Attention.attend(ql, nQueries, new Attention.KvLayout(kvData, 0, kvRow, 2 * headDim),
                        new Attention.KvLayout(kvData, headDim, kvRow, 2 * headDim), nKeys, heads, kvHeads, headDim,
                        scale, causal, first, new Attention.HeadLayout(out, 0, heads * headDim, headDim));
                check(q, kv, out, nQueries, nKeys, heads, kvHeads, headDim, causal, first, scale, kvData.isNative() ? "off-heap" : "heap");
            }
        }
    }

    private static void check(float[] q, float[] kv, float[] out, int nQueries, int nKeys, int heads, int kvHeads,
                              int headDim, boolean causal, int first, float scale, String where) {
        int kvRow = 2 * kvHeads * headDim;
        for (int i = 0; i < nQueries; i++) {
            int visible = causal ? Math.min(nKeys, first + i + 1) : nKeys;
            for (int h = 0; h < heads; h++) {
                int g = h / (heads / kvHeads);
                double[] p = new double[visible];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    double s = 0;
                    for (int d = 0; d < headDim; d++) {
                        s += (double) q[i * heads * headDim + h * headDim + d] * kv[j * kvRow + g * 2 * headDim + d];
                    }
                    p[j] = s * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < visible; j++) sum += p[j] = Math.exp(p[j] - max);
                for (int d = 0; d < headDim; d++) {
                    double o = 0;
                    for (int j = 0; j < visible; j++) o += p[j] / sum * kv[j * kvRow + g * 2 * headDim + headDim + d];
                    float actual = out[i * heads * headDim + h * headDim + d];
                    if (!(Math.abs(actual - o) <= 2e-6)) {
                        throw new AssertionError(where + " query " + i + " head " + h + " dim " + d + ": expected " + o + " got " + actual);
                    }
                }
            }
        }
    }

    private static float[] random(int n, Random rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rnd.nextFloat() * 2 - 1;
        return v;
    }
}
