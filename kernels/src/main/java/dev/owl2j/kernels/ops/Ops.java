package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.KernelProgram;

/** The transformer kernels as one program (what dev.owl2j.kernels.Kernels launches). */
public final class Ops {
    private Ops() {}

    public static final KernelProgram PROGRAM = KernelProgram.of("ops", Linear.class, LinearBatch.class, Matmul.class,
            Norms.class, Attention.class, Elementwise.class, Sampling.class);
}
