package dev.owl2j.kernels;

/**
 * The model kernels on the JVM backend with work-items on threads and real barriers (compile option "threads"):
 * the kernel methods themselves, as a debugger would step through them.
 */
class KernelsOnJvmThreadsTest extends KernelsTest {
    private static Kernels kernels;

    @Override
    ComputeContext ctx() {
        return Jvm.context();
    }

    @Override
    synchronized Kernels k() {
        if (kernels == null) kernels = Kernels.load(ctx(), "threads");
        return kernels;
    }
}
