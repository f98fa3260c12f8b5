package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.KernelProgram;
import dev.owl2j.kernels.compiler.LanguageKernels;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GLSL target's output: every module passes spirv-val with and without the optional features, the bundle
 * names each kernel once, and array variables chosen at run time (GLSL has no pointers) select the right array.
 * (Numerical agreement with the JVM: VulkanKernelLanguageTest and VulkanKernelLanguageFallbackTest.)
 */
class GlslTargetTest {
    static final KernelProgram LANGUAGE = KernelProgram.of("language", LanguageKernels.class);

    @Test
    void everyLanguageKernelModulePassesSpirvValWithAndWithoutOptionalFeatures() throws Exception {
        SpirvVal.requireTool();
        for (ComputeContext ctx : new ComputeContext[]{Lavapipe.context(), Lavapipe.plainContext()}) {
            VulkanProgram p = (VulkanProgram) ctx.compile(LANGUAGE, "");
            assertEquals(LANGUAGE.kernels().size(), p.kernelNames().size(), "one shader per kernel");
            for (String k : p.kernelNames()) {
                SpirvVal.validate(k, p.spirv(k));
            }
        }
    }

    @Test
    void emittedSourceIsReadableGlslWithOneShaderPerKernel() {
        String src = LANGUAGE.compiled(Lavapipe.context().glslTarget()).source();
        assertTrue(src.startsWith("#version 450\n"), src.substring(0, 40));
        for (var k : LANGUAGE.kernels()) {
            assertEquals(1, src.split("\n//!kernel " + k.methodName() + "\n", -1).length - 1, k.methodName());
        }
        assertTrue(src.contains("// dev.owl2j.kernels.compiler.LanguageKernels.reduce (LanguageKernels.java)"), "Java names kept");
        assertTrue(src.contains("shared float scratch[32];"), "local arrays become shared arrays");
    }

    @Test
    void arrayVariablesChosenAtRunTimeReadWriteAndPassTheChosenArray() {
        int n = 50;
        float[] a = new float[n], b = new float[n];
        java.util.Random rnd = new java.util.Random(9);
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextFloat();
            b[i] = rnd.nextFloat() + 10;
        }
        ComputeContext ctx = Lavapipe.context();
        dev.owl2j.kernels.Program p = ctx.compile(KernelProgram.of("choice", GlslKernels.class), "");
        try (dev.owl2j.kernels.Buffer ba = ctx.upload(a); dev.owl2j.kernels.Buffer bb = ctx.upload(b);
             dev.owl2j.kernels.Buffer out = ctx.allocate(n * 4L); dev.owl2j.kernels.Buffer side = ctx.allocate(n * 4L)) {
            ctx.launch(new dev.owl2j.kernels.Launch(p.kernel("pointerChosenAtRunTime"), new long[]{64}, new long[]{64},
                    new Object[]{ba, bb, out, side, n}));
            float[] gotOut = out.readFloats(0, n), gotSide = side.readFloats(0, n);
            for (int i = 0; i < n; i++) {
                float[] src = a;
                float acc = 0;
                for (int k = 0; k < 3; k++) {
                    if ((i + k) % 2 == 1) src = b;
                    acc += src[i] * (k + 1) + (src[0] + i);
                }
                assertEquals(i % 3 == 0 ? acc : 0, gotOut[i], 1e-4, "out " + i);
                assertEquals(i % 3 == 0 ? 0 : acc, gotSide[i], 1e-4, "side " + i);
            }
        }
    }
}
