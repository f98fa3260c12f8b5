package dev.owl2j.model.cpu;

import dev.owl2j.model.Settings;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scaled dot-product attention over heads laid out inside row-major matrices, shared by the vision encoder
 * (fused, head-interleaved q/k/v), the abstractor (plain per-head split) and the decoder (KV cache, causal,
 * grouped-query). Work is split over (head, query-block) pairs.
 */
public final class Attention {
    private Attention() {}

    /**
     * Where the heads of a set of rows live: element d of head h in row t is
     * {@code data[base + t·rowStride + h·headStride + d]}.
     */
    public record HeadLayout(float[] data, int base, int rowStride, int headStride) {
        int offset(int row, int head) {
            return base + row * rowStride + head * headStride;
        }
    }

    /**
     * Where the key or value heads live: element d of head h in row t is the float at index
     * {@code base + t·rowStride + h·headStride + d} of a segment, either a KV cache off the Java heap or a float
     * array wrapped by {@link #of}.
     */
    public record KvLayout(MemorySegment data, long base, int rowStride, int headStride) {
        public static KvLayout of(float[] array, int base, int rowStride, int headStride) {
            return new KvLayout(MemorySegment.ofArray(array), base, rowStride, headStride);
        }

        long byteOffset(int row, int head) {
            return (base + (long) row * rowStride + (long) head * headStride) * Float.BYTES;
        }
    }

    /**
     * out = softmax(scale · Q·Kᵀ [+ causal mask]) · V for each query head.
     *
     * @param heads      query heads
     * @param kvHeads    key/value heads; query head h reads kv head h / (heads / kvHeads) (grouped-query attention)
     * @param firstQueryPosition absolute position of query row 0; with {@code causal} query row i sees keys
     *                   0 .. firstQueryPosition + i, otherwise all {@code nKeys} keys
     */
    public static void attend(HeadLayout q, int nQueries, KvLayout k, KvLayout v, int nKeys,
                              int heads, int kvHeads, int headDim, float scale,
                              boolean causal, int firstQueryPosition, HeadLayout out) {
        if (nQueries == 1 && nKeys >= LONG_CACHE) {
            attendStreaming(q, k, v, causal ? Math.min(nKeys, firstQueryPosition + 1) : nKeys,
                    heads, kvHeads, headDim, scale, out);
        } else if (nQueries < 4) {
            attendByDots(q, nQueries, k, v, nKeys, heads, kvHeads, headDim, scale, causal, firstQueryPosition, out);
        } else {
            attendBlocked(q, nQueries, k, v, nKeys, heads, kvHeads, headDim, scale, causal, firstQueryPosition, out);
        }
    }

    /** Cached positions from which one query's attention streams the cache row by row ({@link #attendStreaming}). */
    static final int LONG_CACHE = Settings.fromSystem().streamingAttention();

    /**
     * One query over a long cache, reading K and V front to back as stored ([position][kv heads · headDim]): the
     * threads split the positions, score every head of their rows, then (after a softmax per head) add their rows'
     * weighted values into partial outputs that are summed at the end. Going head by head instead reads a
     * headDim-wide piece of every row with a stride of the whole row: 7B Q4_0 decode at 1500 positions 3.37 tok/s
     * that way, 3.71 streaming (8 positions: 5.6).
     */
    private static void attendStreaming(HeadLayout q, KvLayout k, KvLayout v, int keys,
                                        int heads, int kvHeads, int headDim, float scale, HeadLayout out) {
        int group = heads / kvHeads;
        float[] scores = new float[heads * keys]; // [head][position]
        int minRows = 64;
        Parallel.forRange(keys, minRows, (j0, j1) -> {
            for (int j = j0; j < j1; j++) {
                for (int h = 0; h < heads; h++) {
                    scores[h * keys + j] = Ops.dot(q.data(), q.offset(0, h), k.data(), k.byteOffset(j, h / group), headDim) * scale;
                }
            }
        });
        Parallel.forRange(heads, 1, (h0, h1) -> {
            for (int h = h0; h < h1; h++) {
                Ops.softmax(scores, h * keys, keys);
            }
        });
        float[] o = out.data();
        for (int h = 0; h < heads; h++) {
            java.util.Arrays.fill(o, out.offset(0, h), out.offset(0, h) + headDim, 0f);
        }
        Object lock = new Object();
        Parallel.forRange(keys, minRows, (j0, j1) -> {
            float[] part = new float[heads * headDim];
            for (int j = j0; j < j1; j++) {
                for (int h = 0; h < heads; h++) {
                    Ops.axpy(scores[h * keys + j], v.data(), v.byteOffset(j, h / group), part, h * headDim, headDim);
                }
            }
            synchronized (lock) {
                for (int h = 0; h < heads; h++) {
                    int oOff = out.offset(0, h);
                    for (int d = 0; d < headDim; d++) {
                        o[oOff + d] += part[h * headDim + d];
                    }
                }
            }
        });
    }

    /** Decode (one or two queries): a dot product per key straight from the cache, no copies. */
    private static void attendByDots(HeadLayout q, int nQueries, KvLayout k, KvLayout v, int nKeys,
                                     int heads, int kvHeads, int headDim, float scale,
                                     boolean causal, int firstQueryPosition, HeadLayout out) {
        int group = heads / kvHeads;
        Parallel.forRange(heads * nQueries, 1, (start, end) -> {
            float[] scores = new float[nKeys];
            for (int task = start; task < end; task++) {
                int h = task / nQueries;
                int i = task % nQueries;
                int kvh = h / group;
                int visible = causal ? Math.min(nKeys, firstQueryPosition + i + 1) : nKeys;
                int qOff = q.offset(i, h);
                for (int j = 0; j < visible; j++) {
                    scores[j] = Ops.dot(q.data(), qOff, k.data(), k.byteOffset(j, kvh), headDim) * scale;
                }
                Ops.softmax(scores, 0, visible);
                int oOff = out.offset(i, h);
                java.util.Arrays.fill(out.data(), oOff, oOff + headDim, 0f);
                for (int j = 0; j < visible; j++) {
                    Ops.axpy(scores[j], v.data(), v.byteOffset(j, kvh), out.data(), oOff, headDim);
                }
            }
        });
    }

    /**
     * Prefill, vision and abstractor: each task copies its kv head once into contiguous scratch (K transposed to
     * [headDim, keys], V as [keys, headDim]), then handles its queries four at a time. Scores are computed along
     * the keys with broadcast FMAs (no horizontal reductions, each K vector serves four queries); the weighted sum
     * runs over contiguous V rows. The strided rows of the fused layouts are touched only by the copy.
     */
    private static void attendBlocked(HeadLayout q, int nQueries, KvLayout k, KvLayout v, int nKeys,
                                      int heads, int kvHeads, int headDim, float scale,
                                      boolean causal, int firstQueryPosition, HeadLayout out) {
        int group = heads / kvHeads;
        int threads = Parallel.parallelism();
        // Enough tasks for the pool (4 per thread), each a multiple of 4 queries.
        int wanted = Math.max(1, (4 * threads + heads - 1) / heads);
        int queryBlock = Math.max(4, ((nQueries + wanted - 1) / wanted + 3) / 4 * 4);
        int blocksPerHead = (nQueries + queryBlock - 1) / queryBlock;
        int lanes = Ops.F.length();
        int ldk = (nKeys + lanes - 1) / lanes * lanes;
        Parallel.forRange(heads * blocksPerHead, 1, (start, end) -> {
            float[] kt = new float[headDim * ldk];
            float[] vc = new float[nKeys * headDim];
            float[] scores = new float[4 * ldk];
            float[] qb = new float[4 * headDim];
            float[] ob = new float[4 * headDim];
            int cachedKvh = -1;
            int cachedKeys = 0;
            for (int task = start; task < end; task++) {
                int h = task / blocksPerHead;
                int kvh = h / group;
                int q0 = (task % blocksPerHead) * queryBlock;
                int q1 = Math.min(nQueries, q0 + queryBlock);
                int keys = causal ? Math.min(nKeys, firstQueryPosition + q1) : nKeys;
                if (kvh != cachedKvh || keys > cachedKeys) {
                    gather(k, v, kvh, keys, headDim, ldk, kt, vc);
                    cachedKvh = kvh;
                    cachedKeys = keys;
                }
                for (int i0 = q0; i0 < q1; i0 += 4) {
                    int m = Math.min(4, q1 - i0);
                    java.util.Arrays.fill(qb, 0f);
                    int vis = 0;
                    for (int r = 0; r < m; r++) {
                        int qOff = q.offset(i0 + r, h);
                        for (int d = 0; d < headDim; d++) {
                            qb[r * headDim + d] = q.data()[qOff + d] * scale;
                        }
                        vis = Math.max(vis, visible(causal, nKeys, firstQueryPosition, i0 + r));
                    }
                    scores4(qb, kt, ldk, headDim, (vis + lanes - 1) / lanes * lanes, scores);
                    // softmax per row; probabilities past a row's visible keys (and rows past m) are zeroed so
                    // that one weighted sum over vis keys serves all four rows
                    for (int r = 0; r < 4; r++) {
                        int visR = r < m ? visible(causal, nKeys, firstQueryPosition, i0 + r) : 0;
                        Ops.softmax(scores, r * ldk, visR);
                        java.util.Arrays.fill(scores, r * ldk + visR, r * ldk + vis, 0f);
                    }
                    weightedSum4(scores, ldk, vis, vc, headDim, ob);
                    for (int r = 0; r < m; r++) {
                        System.arraycopy(ob, r * headDim, out.data(), out.offset(i0 + r, h), headDim);
                    }
                }
            }
        });
    }

    private static int visible(boolean causal, int nKeys, int firstQueryPosition, int i) {
        return causal ? Math.min(nKeys, firstQueryPosition + i + 1) : nKeys;
    }

    private static void gather(KvLayout k, KvLayout v, int kvh, int keys, int headDim, int ldk, float[] kt, float[] vc) {
        for (int j = 0; j < keys; j++) {
            // the key row lands in vc's row j first (overwritten by the value row below), then is transposed
            MemorySegment.copy(k.data(), ValueLayout.JAVA_FLOAT, k.byteOffset(j, kvh), vc, j * headDim, headDim);
            for (int d = 0; d < headDim; d++) {
                kt[d * ldk + j] = vc[j * headDim + d];
            }
            MemorySegment.copy(v.data(), ValueLayout.JAVA_FLOAT, v.byteOffset(j, kvh), vc, j * headDim, headDim);
        }
    }

    /**
     * scores[r·ldk + j] = qb[r]·K[j] for the 4 query rows and j < keys (a multiple of the vector length; ldk is
     * a multiple of it too). Two key vectors per pass: eight accumulators, each loaded K vector serves four FMAs.
     */
    private static void scores4(float[] qb, float[] kt, int ldk, int headDim, int keys, float[] scores) {
        var species = Ops.F;
        int lanes = species.length();
        int j = 0;
        for (; j + 2 * lanes <= keys; j += 2 * lanes) {
            FloatVector a0 = FloatVector.zero(species), a1 = a0, a2 = a0, a3 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int d = 0; d < headDim; d++) {
                FloatVector k0 = FloatVector.fromArray(species, kt, d * ldk + j);
                FloatVector k1 = FloatVector.fromArray(species, kt, d * ldk + j + lanes);
                FloatVector q = FloatVector.broadcast(species, qb[d]);
                a0 = k0.fma(q, a0);
                b0 = k1.fma(q, b0);
                q = FloatVector.broadcast(species, qb[headDim + d]);
                a1 = k0.fma(q, a1);
                b1 = k1.fma(q, b1);
                q = FloatVector.broadcast(species, qb[2 * headDim + d]);
                a2 = k0.fma(q, a2);
                b2 = k1.fma(q, b2);
                q = FloatVector.broadcast(species, qb[3 * headDim + d]);
                a3 = k0.fma(q, a3);
                b3 = k1.fma(q, b3);
            }
            a0.intoArray(scores, j);
            b0.intoArray(scores, j + lanes);
            a1.intoArray(scores, ldk + j);
            b1.intoArray(scores, ldk + j + lanes);
            a2.intoArray(scores, 2 * ldk + j);
            b2.intoArray(scores, 2 * ldk + j + lanes);
            a3.intoArray(scores, 3 * ldk + j);
            b3.intoArray(scores, 3 * ldk + j + lanes);
        }
        for (; j < keys; j += lanes) {
            FloatVector a0 = FloatVector.zero(species), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0; d < headDim; d++) {
                FloatVector kv = FloatVector.fromArray(species, kt, d * ldk + j);
                a0 = kv.fma(FloatVector.broadcast(species, qb[d]), a0);
                a1 = kv.fma(FloatVector.broadcast(species, qb[headDim + d]), a1);
                a2 = kv.fma(FloatVector.broadcast(species, qb[2 * headDim + d]), a2);
                a3 = kv.fma(FloatVector.broadcast(species, qb[3 * headDim + d]), a3);
            }
            a0.intoArray(scores, j);
            a1.intoArray(scores, ldk + j);
            a2.intoArray(scores, 2 * ldk + j);
            a3.intoArray(scores, 3 * ldk + j);
        }
    }

    /**
     * ob[r·headDim + d] = Σ_{j < keys} p[r·ldk + j]·V[j, d] for the 4 rows. The outputs stay in registers
     * across all keys (two vectors of head dimensions × four rows per pass), and each V vector serves four FMAs;
     * a per-key axpy into memory instead made attention half the vision tower's time.
     */
    private static void weightedSum4(float[] p, int ldk, int keys, float[] vc, int headDim, float[] ob) {
        var species = Ops.F;
        int lanes = species.length();
        int d0 = 0;
        for (; d0 + 2 * lanes <= headDim; d0 += 2 * lanes) {
            FloatVector a0 = FloatVector.zero(species), a1 = a0, a2 = a0, a3 = a0;
            FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int j = 0; j < keys; j++) {
                FloatVector v0 = FloatVector.fromArray(species, vc, j * headDim + d0);
                FloatVector v1 = FloatVector.fromArray(species, vc, j * headDim + d0 + lanes);
                FloatVector w = FloatVector.broadcast(species, p[j]);
                a0 = v0.fma(w, a0);
                b0 = v1.fma(w, b0);
                w = FloatVector.broadcast(species, p[ldk + j]);
                a1 = v0.fma(w, a1);
                b1 = v1.fma(w, b1);
                w = FloatVector.broadcast(species, p[2 * ldk + j]);
                a2 = v0.fma(w, a2);
                b2 = v1.fma(w, b2);
                w = FloatVector.broadcast(species, p[3 * ldk + j]);
                a3 = v0.fma(w, a3);
                b3 = v1.fma(w, b3);
            }
            a0.intoArray(ob, d0);
            b0.intoArray(ob, d0 + lanes);
            a1.intoArray(ob, headDim + d0);
            b1.intoArray(ob, headDim + d0 + lanes);
            a2.intoArray(ob, 2 * headDim + d0);
            b2.intoArray(ob, 2 * headDim + d0 + lanes);
            a3.intoArray(ob, 3 * headDim + d0);
            b3.intoArray(ob, 3 * headDim + d0 + lanes);
        }
        for (; d0 + lanes <= headDim; d0 += lanes) {
            FloatVector a0 = FloatVector.zero(species), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < keys; j++) {
                FloatVector v = FloatVector.fromArray(species, vc, j * headDim + d0);
                a0 = v.fma(FloatVector.broadcast(species, p[j]), a0);
                a1 = v.fma(FloatVector.broadcast(species, p[ldk + j]), a1);
                a2 = v.fma(FloatVector.broadcast(species, p[2 * ldk + j]), a2);
                a3 = v.fma(FloatVector.broadcast(species, p[3 * ldk + j]), a3);
            }
            a0.intoArray(ob, d0);
            a1.intoArray(ob, headDim + d0);
            a2.intoArray(ob, 2 * headDim + d0);
            a3.intoArray(ob, 3 * headDim + d0);
        }
        for (; d0 < headDim; d0++) {
            for (int r = 0; r < 4; r++) {
                float sum = 0f;
                for (int j = 0; j < keys; j++) {
                    sum += p[r * ldk + j] * vc[j * headDim + d0];
                }
                ob[r * headDim + d0] = sum;
            }
        }
    }
}
