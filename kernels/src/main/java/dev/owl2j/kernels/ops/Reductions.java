package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.KernelContext;

/**
 * Work-group reductions over local memory shared by the row kernels. Every one leaves the group synchronized
 * and returns the result to every work-item. RED is the group size of the row kernels (the launchers in Kernels
 * use it); the tree halves it each step, so it must be a power of two.
 */
final class Reductions {
    private Reductions() {}

    /** Work-items per group of the row reductions (linear, norms, softmax, attention, argmax). */
    static final int RED = 64;
    /** Lowest float used as "no score yet": exp(NEG_HUGE - finite) underflows to 0 as exp(-inf) would. */
    static final float NEG_HUGE = -3.0e38f;

    /** Sum of v over the RED work-items of the group. */
    static float groupSum(KernelContext ctx, float[] scratch, float v, int lid) {
        scratch[lid] = v;
        ctx.localBarrier();
        for (int s = RED / 2; s > 0; s >>= 1) {
            if (lid < s) scratch[lid] += scratch[lid + s];
            ctx.localBarrier();
        }
        float r = scratch[0];
        ctx.localBarrier();
        return r;
    }

    /** Maximum of v over the RED work-items of the group. */
    static float groupMax(KernelContext ctx, float[] scratch, float v, int lid) {
        scratch[lid] = v;
        ctx.localBarrier();
        for (int s = RED / 2; s > 0; s >>= 1) {
            if (lid < s) scratch[lid] = Math.max(scratch[lid], scratch[lid + s]);
            ctx.localBarrier();
        }
        float r = scratch[0];
        ctx.localBarrier();
        return r;
    }
}
