package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.lang.DoubleArray;
import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.KernelContext;

/** Kernels for the GLSL target's tests: what it must refuse (GLSL has no pointers), and doubles as device scratch. */
public final class GlslKernels {
    private GlslKernels() {}

    /** An array variable that points at one array or another depending on a value known only at run time. */
    public static void pointerChosenAtRunTime(KernelContext ctx, FloatArray a, FloatArray b, FloatArray out, int n) {
        FloatArray src = a;
        if (n > 3) src = b;
        out.set(ctx.globalIdx, src.get(ctx.globalIdx));
    }

    /** Doubles written and read back on the device only (as the sampling kernel's work buffer is used). */
    public static void doubleScratch(KernelContext ctx, FloatArray x, DoubleArray work, FloatArray out, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        work.set(i, x.get(i) * 2.0 + 0.25);
        out.set(i, (float) (work.get(i) * work.get(i)));
    }
}
