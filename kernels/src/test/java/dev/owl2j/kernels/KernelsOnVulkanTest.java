package dev.owl2j.kernels;

import dev.owl2j.kernels.vulkan.Lavapipe;

/** The model kernels compiled to GLSL and SPIR-V, on the first Vulkan device (lavapipe on CI). */
class KernelsOnVulkanTest extends KernelsTest {
    private static Kernels kernels;

    @Override
    ComputeContext ctx() {
        return Lavapipe.context();
    }

    @Override
    synchronized Kernels k() {
        if (kernels == null) kernels = Kernels.load(ctx());
        return kernels;
    }
}
