package dev.owl2j.kernels;

import dev.owl2j.kernels.vulkan.Lavapipe;

/**
 * The kernel language on Vulkan (lavapipe): every kernel of LanguageKernels compiled to GLSL and SPIR-V with the
 * device's optional features (16-bit storage for shorts, shaderFloat64 for doubles) against the JVM backend, with
 * KernelLanguageTest's inputs and tolerances.
 */
class VulkanKernelLanguageTest extends KernelLanguageTest {
    @Override
    ComputeContext device() {
        return Lavapipe.context();
    }
}
