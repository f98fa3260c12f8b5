package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.KernelBuildException;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.lwjgl.util.shaderc.Shaderc.*;

/**
 * GLSL 4.50 compute shaders to SPIR-V with Google's shaderc (glslang + SPIRV-Tools, shipped as LWJGL's
 * {@code lwjgl-shaderc} natives jar). Targets Vulkan 1.1 / SPIR-V 1.3, the oldest environment that has subgroup
 * operations, so one module runs on every device Owl2J accepts. Options are {@code -DNAME[=VALUE]} words, as
 * the OpenCL build options are. The shaderc compiler object is thread-safe and kept for the process.
 */
public final class GlslCompiler {
    private static long compiler;

    private GlslCompiler() {}

    private static synchronized long compiler() {
        if (compiler == 0) {
            compiler = shaderc_compiler_initialize();
            if (compiler == 0) throw new IllegalStateException("shaderc_compiler_initialize failed");
        }
        return compiler;
    }

    /** The macro definitions of an option string ("-DOWL_STORAGE16 -DRED=64"); anything else is refused. */
    static Map<String, String> macros(String options) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String w : options.trim().split("\\s+")) {
            if (w.isEmpty()) continue;
            if (!w.startsWith("-D") || w.length() < 3) {
                throw new IllegalArgumentException("Vulkan kernel options take only -DNAME[=VALUE] words, got '" + w + "'");
            }
            String def = w.substring(2);
            int eq = def.indexOf('=');
            out.put(eq < 0 ? def : def.substring(0, eq), eq < 0 ? "1" : def.substring(eq + 1));
        }
        return out;
    }

    /** SPIR-V words (as little-endian bytes) of one compute shader; KernelBuildException with shaderc's log. */
    public static byte[] compile(String program, String fileName, String source, String options) {
        long opts = shaderc_compile_options_initialize();
        try {
            shaderc_compile_options_set_source_language(opts, shaderc_source_language_glsl);
            shaderc_compile_options_set_target_env(opts, shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_1);
            shaderc_compile_options_set_target_spirv(opts, shaderc_spirv_version_1_3);
            shaderc_compile_options_set_optimization_level(opts, shaderc_optimization_level_performance);
            for (Map.Entry<String, String> m : macros(options).entrySet()) {
                shaderc_compile_options_add_macro_definition(opts, m.getKey(), m.getValue());
            }
            long result = shaderc_compile_into_spv(compiler(), source, shaderc_compute_shader, fileName, "main", opts);
            if (result == 0) throw new KernelBuildException(program, "shaderc", "shaderc returned no result");
            try {
                if (shaderc_result_get_compilation_status(result) != shaderc_compilation_status_success) {
                    String log = shaderc_result_get_error_message(result);
                    throw new KernelBuildException(program, "shaderc", log == null ? "compilation failed" : log.trim());
                }
                ByteBuffer spv = shaderc_result_get_bytes(result);
                byte[] out = new byte[spv.remaining()];
                spv.get(out);
                return out;
            } finally {
                shaderc_result_release(result);
            }
        } finally {
            shaderc_compile_options_release(opts);
        }
    }

    /** Copies SPIR-V bytes into a native buffer for vkCreateShaderModule (caller frees with memFree). */
    static ByteBuffer nativeCopy(byte[] spirv) {
        ByteBuffer b = MemoryUtil.memAlloc(spirv.length);
        b.put(spirv).flip();
        return b;
    }
}
