package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.Kernel;
import dev.owl2j.kernels.KernelCache;
import dev.owl2j.kernels.KernelSignature;
import dev.owl2j.kernels.Program;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;
import org.lwjgl.vulkan.VkShaderModuleCreateInfo;

import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.owl2j.kernels.vulkan.Vulkan.check;
import static org.lwjgl.vulkan.VK10.*;

/**
 * A Vulkan kernel program: one or more GLSL compute shaders, each its own SPIR-V module with entry point
 * {@code main} (GLSL has one entry point per shader). The source is a bundle: lines {@code //!kernel NAME} start
 * the shader of kernel NAME, and any text before the first such line is a common prelude put in front of each.
 * A source without such lines is one kernel named like the program. SPIR-V is cached on disk by the
 * {@link KernelCache} (it depends only on the source and options, not on the device); pipelines are made per
 * launch shape by {@link Pipelines}.
 */
final class VulkanProgram implements Program {
    static final String MARKER = "//!kernel ";

    private final String name;
    private final boolean cached;
    /** Whether Java doubles are doubles in this program's shaders (else floats: push constants shrink to match). */
    final boolean doubles;
    private final VulkanContext ctx;
    private final Map<String, VulkanKernel> kernels = new LinkedHashMap<>();
    private boolean released;

    /** A kernel: its SPIR-V (for validation and tools) and its shader module. */
    record VulkanKernel(VulkanProgram program, String name, byte[] spirv, long module, KernelSignature signature) implements Kernel {
        /** The arguments the shader takes for a launch's arguments (kernels from Java: the hidden array sizes appended). */
        Object[] deviceArgs(Object[] args) {
            return signature == null ? args : signature.deviceArgs(args);
        }
    }

    /** For programs compiled from Java: the kernels by Java method name. */
    Map<String, KernelSignature> signatures;

    private VulkanProgram(VulkanContext ctx, String name, boolean cached, boolean doubles) {
        this.doubles = doubles;
        this.ctx = ctx;
        this.name = name;
        this.cached = cached;
    }

    /** Kernel name → complete GLSL source of its shader, in source order. */
    static Map<String, String> split(String programName, String source) {
        Map<String, String> out = new LinkedHashMap<>();
        int first = source.startsWith(MARKER) ? 0 : source.indexOf("\n" + MARKER);
        if (first < 0) {
            out.put(programName, source);
            return out;
        }
        String prelude = source.substring(0, first == 0 ? 0 : first + 1);
        String rest = source.substring(first == 0 ? 0 : first + 1);
        for (String part : rest.split("(?m)^(?=" + MARKER + ")")) {
            int nl = part.indexOf('\n');
            String kernel = (nl < 0 ? part : part.substring(0, nl)).substring(MARKER.length()).trim();
            if (kernel.isEmpty() || out.containsKey(kernel)) {
                throw new DeviceException("kernel program '" + programName + "': " + (kernel.isEmpty() ? "a kernel marker without a name" : "kernel " + kernel + " defined twice"));
            }
            // The prelude carries #version (which must come first); a #line after it makes errors point into the part.
            String body = nl < 0 ? "" : part.substring(nl + 1);
            out.put(kernel, prelude.isBlank() ? body : prelude + "#line 1\n" + body);
        }
        return out;
    }

    static VulkanProgram build(VulkanContext ctx, String name, String source, String options, KernelCache cache) {
        Map<String, String> parts = split(name, source);
        Map<String, byte[]> spirv = new LinkedHashMap<>();
        boolean allCached = true;
        for (Map.Entry<String, String> e : parts.entrySet()) {
            String key = KernelCache.key("vulkan-spirv", "shaderc vulkan1.1 spirv1.3", "", options, e.getValue());
            byte[] words = cache.get(key, "spv");
            if (words == null) {
                allCached = false;
                words = GlslCompiler.compile(name, name + "/" + e.getKey() + ".comp", e.getValue(), options);
                cache.put(key, "spv", words);
            }
            spirv.put(e.getKey(), words);
        }
        java.util.Set<String> defined = GlslCompiler.macros(options).keySet();
        VulkanProgram p = new VulkanProgram(ctx, name, allCached, defined.contains("OWL_FP64") && !defined.contains("OWL_NO_FP64"));
        try {
            for (Map.Entry<String, byte[]> e : spirv.entrySet()) {
                p.kernels.put(e.getKey(), new VulkanKernel(p, e.getKey(), e.getValue(), p.module(e.getValue()), null));
            }
        } catch (RuntimeException ex) {
            p.close();
            throw ex;
        }
        return p;
    }

    private long module(byte[] spirv) {
        ByteBuffer code = GlslCompiler.nativeCopy(spirv);
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkShaderModuleCreateInfo ci = VkShaderModuleCreateInfo.calloc(s).sType$Default().pCode(code);
            LongBuffer h = s.mallocLong(1);
            check(vkCreateShaderModule(ctx.dev, ci, null, h), "vkCreateShaderModule of " + name);
            return h.get(0);
        } finally {
            MemoryUtil.memFree(code);
        }
    }

    @Override public String name() { return name; }
    @Override public boolean fromCache() { return cached; }

    @Override
    public Kernel kernel(String entryPoint) {
        if (signatures != null) return javaKernel(entryPoint);
        VulkanKernel k = kernels.get(entryPoint);
        if (k == null) throw new DeviceException("kernel program '" + name + "' has no kernel " + entryPoint);
        return k;
    }

    /** A kernel compiled from Java, by its Java method name. */
    private Kernel javaKernel(String javaName) {
        KernelSignature sig = signatures.get(javaName);
        VulkanKernel k = sig == null ? null : kernels.get(sig.deviceName());
        if (k == null) throw new DeviceException("kernel program '" + name + "' has no kernel " + javaName);
        return new VulkanKernel(this, javaName, k.spirv(), k.module(), sig);
    }

    /** The SPIR-V of a shader by its name in the source (for validation). */
    byte[] spirv(String shader) {
        return kernels.get(shader).spirv();
    }

    /** The shaders' names in source order. */
    public java.util.Set<String> kernelNames() {
        return java.util.Collections.unmodifiableSet(kernels.keySet());
    }

    @Override
    public void close() {
        if (released) return;
        released = true;
        for (VulkanKernel k : kernels.values()) vkDestroyShaderModule(ctx.dev, k.module(), null);
    }
}
