package dev.owl2j.kernels;

import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.KernelContext;

/** A kernel whose work-items disagree on a loop that contains a barrier (undefined in OpenCL). */
public final class DivergentKernel {
    private DivergentKernel() {}

    public static void divergent(KernelContext ctx, FloatArray x) {
        float[] s = ctx.allocateFloatLocalArray(64);
        for (int i = 0; i < ctx.localIdx; i++) {
            s[ctx.localIdx] = i;
            ctx.localBarrier();
        }
        x.set(ctx.localIdx, s[ctx.localIdx]);
    }
}
