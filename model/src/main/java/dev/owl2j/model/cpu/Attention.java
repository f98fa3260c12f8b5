package dev.owl2j.model.cpu;

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
     * out = softmax(scale · Q·Kᵀ [+ causal mask]) · V for each query head.
     *
     * @param heads      query heads
     * @param kvHeads    key/value heads; query head h reads kv head h / (heads / kvHeads) (grouped-query attention)
     * @param firstQueryPosition absolute position of query row 0; with {@code causal} query row i sees keys
     *                   0 .. firstQueryPosition + i, otherwise all {@code nKeys} keys
     */
    public static void attend(HeadLayout q, int nQueries, HeadLayout k, HeadLayout v, int nKeys,
                              int heads, int kvHeads, int headDim, float scale,
                              boolean causal, int firstQueryPosition, HeadLayout out) {
        int group = heads / kvHeads;
        // Query blocks keep each task's work at least a few thousand multiply-adds.
        int queryBlock = Math.max(1, Math.min(nQueries, 16));
        int blocksPerHead = (nQueries + queryBlock - 1) / queryBlock;
        Parallel.forRange(heads * blocksPerHead, 1, (start, end) -> {
            float[] scores = new float[nKeys];
            for (int task = start; task < end; task++) {
                int h = task / blocksPerHead;
                int kvh = h / group;
                int q0 = (task % blocksPerHead) * queryBlock;
                int q1 = Math.min(nQueries, q0 + queryBlock);
                for (int i = q0; i < q1; i++) {
                    int visible = causal ? Math.min(nKeys, firstQueryPosition + i + 1) : nKeys;
                    int qOff = q.offset(i, h);
                    for (int j = 0; j < visible; j++) {
                        scores[j] = Ops.dot(q.data(), qOff, k.data(), k.offset(j, kvh), headDim) * scale;
                    }
                    Ops.softmax(scores, 0, visible);
                    int oOff = out.offset(i, h);
                    java.util.Arrays.fill(out.data(), oOff, oOff + headDim, 0f);
                    for (int j = 0; j < visible; j++) {
                        Ops.axpy(scores[j], v.data(), v.offset(j, kvh), out.data(), oOff, headDim);
                    }
                }
            }
        });
    }
}
