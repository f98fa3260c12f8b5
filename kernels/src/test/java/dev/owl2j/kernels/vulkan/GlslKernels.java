package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.lang.DoubleArray;
import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.KernelContext;

/** Kernels for the GLSL target's tests: arrays chosen at run time (GLSL has no pointers), doubles as device scratch. */
public final class GlslKernels {
    private GlslKernels() {}

    /**
     * Array variables chosen at run time (as the MAM kernels choose their weights per token): reassigned in a
     * loop, read, written through, and handed to a helper.
     */
    public static void pointerChosenAtRunTime(KernelContext ctx, FloatArray a, FloatArray b, FloatArray out, FloatArray side, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        FloatArray src = a;
        float acc = 0;
        for (int k = 0; k < 3; k++) {
            if ((i + k) % 2 == 1) src = b;
            acc += src.get(i) * (k + 1) + firstPlus(src, i);
        }
        FloatArray dst = i % 3 == 0 ? out : side;
        dst.set(i, acc);
    }

    static float firstPlus(FloatArray x, int i) {
        return x.get(0) + i;
    }

    /** Doubles written and read back on the device only (as the sampling kernel's work buffer is used). */
    public static void doubleScratch(KernelContext ctx, FloatArray x, DoubleArray work, FloatArray out, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        work.set(i, x.get(i) * 2.0 + 0.25);
        out.set(i, (float) (work.get(i) * work.get(i)));
    }
}
