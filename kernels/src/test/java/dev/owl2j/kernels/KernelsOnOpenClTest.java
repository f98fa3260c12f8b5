package dev.owl2j.kernels;

/** The model kernels compiled to OpenCL C, on the first OpenCL device (PoCL on CI). */
class KernelsOnOpenClTest extends KernelsTest {
    @Override
    ComputeContext ctx() {
        return Pocl.context();
    }

    @Override
    Kernels k() {
        return Pocl.kernels();
    }
}
