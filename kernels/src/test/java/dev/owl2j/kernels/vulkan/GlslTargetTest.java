package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.KernelProgram;
import dev.owl2j.kernels.compiler.KernelCompileException;
import dev.owl2j.kernels.compiler.LanguageKernels;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GLSL target's output: every module passes spirv-val with and without the optional features, the bundle
 * names each kernel once, and what GLSL cannot express is refused with one line naming the method.
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
    void anArrayVariableThatPointsAtDifferentArraysIsRefusedWithOneLine() {
        KernelProgram p = KernelProgram.of("refused", GlslKernels.class);
        KernelCompileException e = assertThrows(KernelCompileException.class, () -> Lavapipe.context().compile(p, ""));
        assertTrue(e.getMessage().contains("GlslKernels.pointerChosenAtRunTime: array variable src points at different arrays"), e.getMessage());
        assertTrue(e.getMessage().contains("not supported by the Vulkan target"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }
}
