package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.IntArray;
import dev.owl2j.kernels.lang.KernelContext;

import static dev.owl2j.kernels.ops.Reductions.NEG_HUGE;
import static dev.owl2j.kernels.ops.Reductions.RED;
import static dev.owl2j.kernels.ops.Reductions.groupMax;
import static dev.owl2j.kernels.ops.Reductions.groupSum;

/** Row-wise norms and softmax: one work group of RED per row, launch global (rows * RED), local (RED). */
public final class Norms {
    private Norms() {}

    /** RMSNorm (LLaMA): out = x / sqrt(mean(x^2) + eps) * w. */
    public static void rmsnorm(KernelContext ctx, FloatArray x, int xOff, FloatArray out, int outOff, FloatArray w,
                               int n, float eps) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int row = ctx.groupIdx, lid = ctx.localIdx;
        int xr = xOff + row * n, o = outOff + row * n;
        float sq = 0.0f;
        for (int i = lid; i < n; i += RED) sq += x.get(xr + i) * x.get(xr + i);
        float inv = 1.0f / (float) Math.sqrt(groupSum(ctx, scratch, sq, lid) / n + eps);
        for (int i = lid; i < n; i += RED) out.set(o + i, x.get(xr + i) * inv * w.get(i));
    }

    /** RMSNorm with the weight chosen per row by modality[mOff + row] (0: w0, else w1). */
    public static void rmsnormSelect(KernelContext ctx, FloatArray x, int xOff, FloatArray out, int outOff,
                                     FloatArray w0, FloatArray w1, IntArray modality, int mOff, int n, float eps) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int row = ctx.groupIdx, lid = ctx.localIdx;
        FloatArray w = modality.get(mOff + row) != 0 ? w1 : w0;
        int xr = xOff + row * n, o = outOff + row * n;
        float sq = 0.0f;
        for (int i = lid; i < n; i += RED) sq += x.get(xr + i) * x.get(xr + i);
        float inv = 1.0f / (float) Math.sqrt(groupSum(ctx, scratch, sq, lid) / n + eps);
        for (int i = lid; i < n; i += RED) out.set(o + i, x.get(xr + i) * inv * w.get(i));
    }

    /** LayerNorm (PyTorch: biased variance, two passes): out = (x - mean) / sqrt(var + eps) * w + b. out may be x. */
    public static void layernorm(KernelContext ctx, FloatArray x, int xOff, FloatArray out, int outOff, FloatArray w,
                                 FloatArray b, int n, float eps) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int row = ctx.groupIdx, lid = ctx.localIdx;
        int xr = xOff + row * n, o = outOff + row * n;
        float s = 0.0f;
        for (int i = lid; i < n; i += RED) s += x.get(xr + i);
        float mean = groupSum(ctx, scratch, s, lid) / n;
        float sq = 0.0f;
        for (int i = lid; i < n; i += RED) {
            float d = x.get(xr + i) - mean;
            sq += d * d;
        }
        float inv = 1.0f / (float) Math.sqrt(groupSum(ctx, scratch, sq, lid) / n + eps);
        for (int i = lid; i < n; i += RED) out.set(o + i, (x.get(xr + i) - mean) * inv * w.get(i) + b.get(i));
    }

    /** In-place softmax of each row of x [rows, n]. */
    public static void softmax(KernelContext ctx, FloatArray x, int xOff, int n) {
        float[] scratch = ctx.allocateFloatLocalArray(RED);
        int row = ctx.groupIdx, lid = ctx.localIdx;
        int xr = xOff + row * n;
        float m = NEG_HUGE;
        for (int i = lid; i < n; i += RED) m = Math.max(m, x.get(xr + i));
        m = groupMax(ctx, scratch, m, lid);
        float s = 0.0f;
        for (int i = lid; i < n; i += RED) {
            float e = (float) Math.exp(x.get(xr + i) - m);
            x.set(xr + i, e);
            s += e;
        }
        float inv = 1.0f / groupSum(ctx, scratch, s, lid);
        for (int i = lid; i < n; i += RED) x.set(xr + i, x.get(xr + i) * inv);
    }
}
