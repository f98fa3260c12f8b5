package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.ByteArray;
import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.KernelContext;
import dev.owl2j.kernels.lang.ShortArray;

import static dev.owl2j.kernels.ops.Reductions.RED;
import static dev.owl2j.kernels.ops.Reductions.groupSum;
import static dev.owl2j.kernels.ops.Weights.BLOCK;
import static dev.owl2j.kernels.ops.Weights.Q4_BYTES;
import static dev.owl2j.kernels.ops.Weights.Q8_BYTES;

/**
 * y[t, r] = W[r, :] . x[t, :] for n <= MAX_BATCH tokens of different sessions (batched decode), one work group per
 * row that reads the row once for all n tokens: launch global (rows * RED), local (RED). Each work-item's partial
 * sums follow the same order as Linear's, so a batched step gives the same logits as single steps.
 */
public final class LinearBatch {
    private LinearBatch() {}

    /** Most tokens per launch (the private accumulators). */
    static final int MAX_BATCH = 8;

    private static void store(KernelContext ctx, float[] scratch, float[] s, FloatArray y, int yOff, int yStride, int r, int n, int lid) {
        for (int t = 0; t < n; t++) {
            float v = groupSum(ctx, scratch, s[t], lid);
            if (lid == 0) y.set(yOff + t * yStride + r, v);
        }
    }

    public static void linearBatchF32(KernelContext ctx, FloatArray w, FloatArray x, int xOff, int xStride,
                                      FloatArray y, int yOff, int yStride, int rows, int cols, int n) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, lid = ctx.localIdx;
        float[] s = new float[MAX_BATCH];
        for (int t = 0; t < MAX_BATCH; t++) s[t] = 0.0f;
        for (int c = lid; c < cols; c += RED) {
            float wv = w.get(r * cols + c);
            for (int t = 0; t < n; t++) s[t] += wv * x.get(xOff + t * xStride + c);
        }
        store(ctx, scratch, s, y, yOff, yStride, r, n, lid);
    }

    public static void linearBatchF16(KernelContext ctx, ShortArray w, FloatArray x, int xOff, int xStride,
                                      FloatArray y, int yOff, int yStride, int rows, int cols, int n) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, lid = ctx.localIdx;
        float[] s = new float[MAX_BATCH];
        for (int t = 0; t < MAX_BATCH; t++) s[t] = 0.0f;
        for (int c = lid; c < cols; c += RED) {
            float wv = Float.float16ToFloat(w.get(r * cols + c));
            for (int t = 0; t < n; t++) s[t] += wv * x.get(xOff + t * xStride + c);
        }
        store(ctx, scratch, s, y, yOff, yStride, r, n, lid);
    }

    public static void linearBatchBF16(KernelContext ctx, ShortArray w, FloatArray x, int xOff, int xStride,
                                      FloatArray y, int yOff, int yStride, int rows, int cols, int n) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, lid = ctx.localIdx;
        float[] s = new float[MAX_BATCH];
        for (int t = 0; t < MAX_BATCH; t++) s[t] = 0.0f;
        for (int c = lid; c < cols; c += RED) {
            float wv = Float.intBitsToFloat(w.get(r * cols + c) << 16);
            for (int t = 0; t < n; t++) s[t] += wv * x.get(xOff + t * xStride + c);
        }
        store(ctx, scratch, s, y, yOff, yStride, r, n, lid);
    }

    public static void linearBatchQ8_0(KernelContext ctx, ByteArray w, FloatArray x, int xOff, int xStride,
                                       FloatArray y, int yOff, int yStride, int rows, int cols, int n) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, lid = ctx.localIdx;
        float[] s = new float[MAX_BATCH];
        for (int t = 0; t < MAX_BATCH; t++) s[t] = 0.0f;
        int nb = cols / BLOCK;
        int row = r * nb * Q8_BYTES;
        for (int b = lid; b < nb; b += RED) {
            int blk = row + b * Q8_BYTES;
            float d = Float.float16ToFloat(w.getShort(blk));
            for (int t = 0; t < n; t++) {
                int xb = xOff + t * xStride + b * BLOCK;
                float a = 0.0f;
                for (int j = 0; j < BLOCK; j++) a += (float) w.get(blk + 2 + j) * x.get(xb + j);
                s[t] += d * a;
            }
        }
        store(ctx, scratch, s, y, yOff, yStride, r, n, lid);
    }

    public static void linearBatchQ4_0(KernelContext ctx, ByteArray w, FloatArray x, int xOff, int xStride,
                                       FloatArray y, int yOff, int yStride, int rows, int cols, int n) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, lid = ctx.localIdx;
        float[] s = new float[MAX_BATCH];
        for (int t = 0; t < MAX_BATCH; t++) s[t] = 0.0f;
        int nb = cols / BLOCK;
        int row = r * nb * Q4_BYTES;
        for (int b = lid; b < nb; b += RED) {
            int blk = row + b * Q4_BYTES;
            float d = Float.float16ToFloat(w.getShort(blk));
            for (int t = 0; t < n; t++) {
                int xb = xOff + t * xStride + b * BLOCK;
                float a = 0.0f;
                for (int j = 0; j < 16; j++) {
                    int v = w.get(blk + 2 + j) & 0xff;
                    a += (float) ((v & 15) - 8) * x.get(xb + j) + (float) ((v >> 4) - 8) * x.get(xb + j + 16);
                }
                s[t] += d * a;
            }
        }
        store(ctx, scratch, s, y, yOff, yStride, r, n, lid);
    }
}
