package dev.owl2j.kernels;

import dev.owl2j.kernels.vulkan.Lavapipe;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The same kernels on a Vulkan context without 16-bit storage and shaderFloat64, the paths of devices that lack
 * them: shorts read and written through 32-bit words (atomics keep the neighbouring half), doubles as floats
 * (so the doubles kernel, which reads doubles the host wrote, is replaced by one that uses a DoubleArray as
 * device scratch, as the sampling kernel does).
 */
class VulkanKernelLanguageFallbackTest extends KernelLanguageTest {
    @Override
    ComputeContext device() {
        return Lavapipe.plainContext();
    }

    /** Doubles are floats here, in a DoubleArray too (as on OpenCL without fp64): device scratch works. */
    @Override
    @Test
    void doublesStayDoubleWhereTheDeviceHasThem() {
        int n = 100;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        ComputeContext ctx = device();
        Program p = ctx.compile(KernelProgram.of("scratch", getClass().getClassLoader(), java.util.List.of(
                new dev.owl2j.kernels.compiler.KernelCompiler.KernelMethod(dev.owl2j.kernels.vulkan.GlslKernels.class.getName(), "doubleScratch"))), "");
        try (Buffer bx = ctx.upload(x); Buffer work = ctx.allocate(n * 8L); Buffer out = ctx.allocate(n * 4L)) {
            ctx.launch(new Launch(p.kernel("doubleScratch"), g(128), g(64), new Object[]{bx, work, out, n}));
            float[] got = out.readFloats(0, n);
            for (int i = 0; i < n; i++) {
                float w = x[i] * 2.0f + 0.25f;
                assertEquals(w * w, got[i], 1e-6f * Math.max(1, w * w), "element " + i);
            }
        }
    }
}
