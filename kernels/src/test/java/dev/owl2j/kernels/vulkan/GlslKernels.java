package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.KernelContext;

/** Kernels for GlslTargetTest: what the GLSL target must refuse (GLSL has no pointers). */
public final class GlslKernels {
    private GlslKernels() {}

    /** An array variable that points at one array or another depending on a value known only at run time. */
    public static void pointerChosenAtRunTime(KernelContext ctx, FloatArray a, FloatArray b, FloatArray out, int n) {
        FloatArray src = a;
        if (n > 3) src = b;
        out.set(ctx.globalIdx, src.get(ctx.globalIdx));
    }
}
