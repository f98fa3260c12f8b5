package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.IntArray;
import dev.owl2j.kernels.lang.KernelContext;
import dev.owl2j.kernels.lang.ShortArray;

/** Element-wise kernels and row copies; launch global (n) rounded up to the local size, one element per work-item. */
public final class Elementwise {
    private Elementwise() {}

    /** gate = SiLU(gate) * up (LLaMA MLP, abstractor SwiGLU). */
    public static void siluMul(KernelContext ctx, FloatArray gate, FloatArray up, int n) {
        int i = ctx.globalIdx;
        if (i < n) {
            float g = gate.get(i);
            gate.set(i, g / (1.0f + (float) Math.exp(-g)) * up.get(i));
        }
    }

    /** CLIP QuickGELU x * sigmoid(1.702 x), in place. */
    public static void quickGelu(KernelContext ctx, FloatArray x, int n) {
        int i = ctx.globalIdx;
        if (i < n) {
            float v = x.get(i);
            x.set(i, v / (1.0f + (float) Math.exp(-1.702f * v)));
        }
    }

    /** y[yOff + i] += x[xOff + i]. */
    public static void add(KernelContext ctx, FloatArray y, int yOff, FloatArray x, int xOff, int n) {
        int i = ctx.globalIdx;
        if (i < n) y.set(yOff + i, y.get(yOff + i) + x.get(xOff + i));
    }

    /** y[yOff + r*cols + c] += b[c] for rows x cols. */
    public static void biasAdd(KernelContext ctx, FloatArray y, int yOff, FloatArray b, int rows, int cols) {
        int i = ctx.globalIdx;
        if (i < rows * cols) y.set(yOff + i, y.get(yOff + i) + b.get(i % cols));
    }

    /** x[xOff + i] *= s. */
    public static void scale(KernelContext ctx, FloatArray x, int xOff, float s, int n) {
        int i = ctx.globalIdx;
        if (i < n) x.set(xOff + i, x.get(xOff + i) * s);
    }

    /** dst[dstOff + i] = src[srcOff + i]. */
    public static void copy(KernelContext ctx, FloatArray dst, int dstOff, FloatArray src, int srcOff, int n) {
        int i = ctx.globalIdx;
        if (i < n) dst.set(dstOff + i, src.get(srcOff + i));
    }

    /** Writes n rows of width rowLen at row params[pIdx] of dst (KV-cache append at the current position). */
    public static void copyRowsAt(KernelContext ctx, FloatArray dst, FloatArray src, int srcOff, int rowLen, int n,
                                  IntArray params, int pIdx) {
        int i = ctx.globalIdx;
        if (i < n * rowLen) dst.set(params.get(pIdx) * rowLen + i, src.get(srcOff + i));
    }

    /*
     * Embedding lookup: out[t, :] = table[ids[idsOff + t], :] for n rows of width cols. Negative ids are skipped
     * (their rows are filled otherwise, e.g. with visual tokens). Launch: global (cols, n) rounded up.
     */

    public static void gatherRowsF32(KernelContext ctx, FloatArray table, IntArray ids, int idsOff, FloatArray out, int cols, int n) {
        int c = ctx.globalIdx, t = ctx.globalIdy;
        if (c >= cols || t >= n) return;
        int id = ids.get(idsOff + t);
        if (id < 0) return;
        out.set(t * cols + c, table.get(id * cols + c));
    }

    public static void gatherRowsF16(KernelContext ctx, ShortArray table, IntArray ids, int idsOff, FloatArray out, int cols, int n) {
        int c = ctx.globalIdx, t = ctx.globalIdy;
        if (c >= cols || t >= n) return;
        int id = ids.get(idsOff + t);
        if (id < 0) return;
        out.set(t * cols + c, Float.float16ToFloat(table.get(id * cols + c)));
    }

    public static void gatherRowsBF16(KernelContext ctx, ShortArray table, IntArray ids, int idsOff, FloatArray out, int cols, int n) {
        int c = ctx.globalIdx, t = ctx.globalIdy;
        if (c >= cols || t >= n) return;
        int id = ids.get(idsOff + t);
        if (id < 0) return;
        out.set(t * cols + c, Float.intBitsToFloat(table.get(id * cols + c) << 16));
    }
}
