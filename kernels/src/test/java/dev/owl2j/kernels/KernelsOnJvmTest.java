package dev.owl2j.kernels;

/**
 * The model kernels on the JVM backend as it runs them by default: kernels without barriers call the kernel
 * method per work-item, kernels with barriers run as generated work-item loops (GroupCompiler).
 */
class KernelsOnJvmTest extends KernelsTest {
    private static Kernels kernels;

    @Override
    ComputeContext ctx() {
        return Jvm.context();
    }

    @Override
    synchronized Kernels k() {
        if (kernels == null) kernels = Kernels.load(ctx());
        return kernels;
    }
}
