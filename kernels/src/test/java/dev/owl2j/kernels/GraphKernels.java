package dev.owl2j.kernels;

import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.KernelContext;

/** Two small kernels a task graph names by method reference (JavaTaskGraphTest). */
public final class GraphKernels {
    private GraphKernels() {}

    public static void scale(KernelContext ctx, FloatArray x, float s, int n) {
        int i = ctx.globalIdx;
        if (i < n) x.set(i, x.get(i) * s);
    }

    public static void accumulate(KernelContext ctx, FloatArray y, FloatArray x, int n) {
        int i = ctx.globalIdx;
        if (i < n) y.set(i, y.get(i) + x.get(i));
    }
}
