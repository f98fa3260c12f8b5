package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.ByteArray;
import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.IntArray;
import dev.owl2j.kernels.lang.KernelContext;
import dev.owl2j.kernels.lang.ShortArray;

import static dev.owl2j.kernels.ops.Reductions.RED;
import static dev.owl2j.kernels.ops.Reductions.groupSum;

/**
 * The decode matvec: y[t, r] = W[r, :] . x[t, :] for n tokens, one work group of RED work-items per (row, token):
 * launch global (rows * RED, n), local (RED, 1). Matrices are row-major [rows, cols] (PyTorch's [out, in]);
 * buffer positions are element offsets. linearSelect* is the same with W = modality[mOff + t] != 0 ? w1 : w0, for
 * mPLUG-Owl2's modality-adaptive key/value projections. One method per weight storage type (the array type of
 * the weights differs); the row dot products are in Weights.
 */
public final class Linear {
    private Linear() {}

    public static void linearF32(KernelContext ctx, FloatArray w, FloatArray x, int xOff, int xStride,
                                 FloatArray y, int yOff, int yStride, int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        float s = groupSum(ctx, scratch, Weights.rowDotF32(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearSelectF32(KernelContext ctx, FloatArray w0, FloatArray w1, IntArray modality, int mOff,
                                       FloatArray x, int xOff, int xStride, FloatArray y, int yOff, int yStride,
                                       int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        FloatArray w = modality.get(mOff + t) != 0 ? w1 : w0;
        float s = groupSum(ctx, scratch, Weights.rowDotF32(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearF16(KernelContext ctx, ShortArray w, FloatArray x, int xOff, int xStride,
                                 FloatArray y, int yOff, int yStride, int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        float s = groupSum(ctx, scratch, Weights.rowDotF16(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearSelectF16(KernelContext ctx, ShortArray w0, ShortArray w1, IntArray modality, int mOff,
                                       FloatArray x, int xOff, int xStride, FloatArray y, int yOff, int yStride,
                                       int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        ShortArray w = modality.get(mOff + t) != 0 ? w1 : w0;
        float s = groupSum(ctx, scratch, Weights.rowDotF16(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearBF16(KernelContext ctx, ShortArray w, FloatArray x, int xOff, int xStride,
                                 FloatArray y, int yOff, int yStride, int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        float s = groupSum(ctx, scratch, Weights.rowDotBF16(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearSelectBF16(KernelContext ctx, ShortArray w0, ShortArray w1, IntArray modality, int mOff,
                                       FloatArray x, int xOff, int xStride, FloatArray y, int yOff, int yStride,
                                       int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        ShortArray w = modality.get(mOff + t) != 0 ? w1 : w0;
        float s = groupSum(ctx, scratch, Weights.rowDotBF16(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearQ8_0(KernelContext ctx, ByteArray w, FloatArray x, int xOff, int xStride,
                                 FloatArray y, int yOff, int yStride, int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        float s = groupSum(ctx, scratch, Weights.rowDotQ8_0(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearSelectQ8_0(KernelContext ctx, ByteArray w0, ByteArray w1, IntArray modality, int mOff,
                                       FloatArray x, int xOff, int xStride, FloatArray y, int yOff, int yStride,
                                       int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        ByteArray w = modality.get(mOff + t) != 0 ? w1 : w0;
        float s = groupSum(ctx, scratch, Weights.rowDotQ8_0(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearQ4_0(KernelContext ctx, ByteArray w, FloatArray x, int xOff, int xStride,
                                 FloatArray y, int yOff, int yStride, int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        float s = groupSum(ctx, scratch, Weights.rowDotQ4_0(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }

    public static void linearSelectQ4_0(KernelContext ctx, ByteArray w0, ByteArray w1, IntArray modality, int mOff,
                                       FloatArray x, int xOff, int xStride, FloatArray y, int yOff, int yStride,
                                       int rows, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int r = ctx.groupIdx, t = ctx.groupIdy, lid = ctx.localIdx;
        ByteArray w = modality.get(mOff + t) != 0 ? w1 : w0;
        float s = groupSum(ctx, scratch, Weights.rowDotQ4_0(w, r, cols, x, xOff + t * xStride, lid), lid);
        if (lid == 0) y.set(yOff + t * yStride + r, s);
    }
}
