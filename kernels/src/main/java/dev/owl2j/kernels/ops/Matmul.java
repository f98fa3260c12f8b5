package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.KernelContext;
import dev.owl2j.kernels.lang.ShortArray;

/**
 * Tiled y[t, r] = W[r, :] . x[t, :] for many tokens (prefill, vision): launch global (ceil(rows/16)*16,
 * ceil(n/16)*16), local (16, 16); dimension 0 is the output feature r, 1 the token t. Each group stages 16x16
 * tiles of W and x in local memory, rows padded to 17 floats so the column reads of the inner loop do not all
 * hit one memory bank.
 */
public final class Matmul {
    private Matmul() {}

    static final int TILE = 16;
    private static final int PITCH = TILE + 1;

    public static void matmulF32(KernelContext ctx, FloatArray w, FloatArray x, int xOff, int xStride,
                                 FloatArray y, int yOff, int yStride, int rows, int cols, int n) {
        float[] ws = ctx.allocateFloatLocalArray(TILE * PITCH);
        float[] xs = ctx.allocateFloatLocalArray(TILE * PITCH);
        int lr = ctx.localIdx, lt = ctx.localIdy;
        int r0 = ctx.groupIdx * TILE, t0 = ctx.groupIdy * TILE;
        float acc = 0.0f;
        for (int c0 = 0; c0 < cols; c0 += TILE) {
            // work-item (lr, lt) loads W[r0 + lt, c0 + lr] and x[t0 + lt, c0 + lr] (coalesced along c)
            int c = c0 + lr;
            ws[lt * PITCH + lr] = r0 + lt < rows && c < cols ? w.get((r0 + lt) * cols + c) : 0.0f;
            xs[lt * PITCH + lr] = t0 + lt < n && c < cols ? x.get(xOff + (t0 + lt) * xStride + c) : 0.0f;
            ctx.localBarrier();
            for (int k = 0; k < TILE; k++) acc += ws[lr * PITCH + k] * xs[lt * PITCH + k];
            ctx.localBarrier();
        }
        if (r0 + lr < rows && t0 + lt < n) y.set(yOff + (t0 + lt) * yStride + r0 + lr, acc);
    }

    public static void matmulF16(KernelContext ctx, ShortArray w, FloatArray x, int xOff, int xStride,
                                 FloatArray y, int yOff, int yStride, int rows, int cols, int n) {
        float[] ws = ctx.allocateFloatLocalArray(TILE * PITCH);
        float[] xs = ctx.allocateFloatLocalArray(TILE * PITCH);
        int lr = ctx.localIdx, lt = ctx.localIdy;
        int r0 = ctx.groupIdx * TILE, t0 = ctx.groupIdy * TILE;
        float acc = 0.0f;
        for (int c0 = 0; c0 < cols; c0 += TILE) {
            // work-item (lr, lt) loads W[r0 + lt, c0 + lr] and x[t0 + lt, c0 + lr] (coalesced along c)
            int c = c0 + lr;
            ws[lt * PITCH + lr] = r0 + lt < rows && c < cols ? Float.float16ToFloat(w.get((r0 + lt) * cols + c)) : 0.0f;
            xs[lt * PITCH + lr] = t0 + lt < n && c < cols ? x.get(xOff + (t0 + lt) * xStride + c) : 0.0f;
            ctx.localBarrier();
            for (int k = 0; k < TILE; k++) acc += ws[lr * PITCH + k] * xs[lt * PITCH + k];
            ctx.localBarrier();
        }
        if (r0 + lr < rows && t0 + lt < n) y.set(yOff + (t0 + lt) * yStride + r0 + lr, acc);
    }

    public static void matmulBF16(KernelContext ctx, ShortArray w, FloatArray x, int xOff, int xStride,
                                 FloatArray y, int yOff, int yStride, int rows, int cols, int n) {
        float[] ws = ctx.allocateFloatLocalArray(TILE * PITCH);
        float[] xs = ctx.allocateFloatLocalArray(TILE * PITCH);
        int lr = ctx.localIdx, lt = ctx.localIdy;
        int r0 = ctx.groupIdx * TILE, t0 = ctx.groupIdy * TILE;
        float acc = 0.0f;
        for (int c0 = 0; c0 < cols; c0 += TILE) {
            // work-item (lr, lt) loads W[r0 + lt, c0 + lr] and x[t0 + lt, c0 + lr] (coalesced along c)
            int c = c0 + lr;
            ws[lt * PITCH + lr] = r0 + lt < rows && c < cols ? Float.intBitsToFloat(w.get((r0 + lt) * cols + c) << 16) : 0.0f;
            xs[lt * PITCH + lr] = t0 + lt < n && c < cols ? x.get(xOff + (t0 + lt) * xStride + c) : 0.0f;
            ctx.localBarrier();
            for (int k = 0; k < TILE; k++) acc += ws[lr * PITCH + k] * xs[lt * PITCH + k];
            ctx.localBarrier();
        }
        if (r0 + lr < rows && t0 + lt < n) y.set(yOff + (t0 + lt) * yStride + r0 + lr, acc);
    }
}
