package dev.owl2j.kernels.cuda;

import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.KernelBuildException;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.lwjgl.cuda.NVRTC.*;

/**
 * CUDA C++ to PTX through NVRTC (LWJGL's binding; the library is libnvrtc from the CUDA install, or the one
 * -Dorg.lwjgl.cuda.nvrtc.libname names). Needs no GPU and no driver, so CudaCompileTest runs it on machines
 * without either, with NVIDIA's nvidia-cuda-nvrtc wheel.
 */
public final class Nvrtc {
    private Nvrtc() {}

    /** The PTX of source compiled with options (e.g. "--gpu-architecture=compute_90"); the log in a KernelBuildException. */
    public static byte[] compile(String name, String source, String options, String forDevice) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer prog = stack.mallocPointer(1);
            int rc = nvrtcCreateProgram(prog, source, name + ".cu", null, null);
            if (rc != NVRTC_SUCCESS) throw new DeviceException("nvrtcCreateProgram failed: " + nvrtcGetErrorString(rc));
            long p = prog.get(0);
            try {
                String[] opts = options.isBlank() ? new String[0] : options.trim().split("\\s+");
                PointerBuffer optPtrs = stack.mallocPointer(Math.max(1, opts.length));
                for (int i = 0; i < opts.length; i++) optPtrs.put(i, stack.UTF8(opts[i]));
                optPtrs.limit(opts.length);
                rc = nvrtcCompileProgram(p, optPtrs);
                if (rc != NVRTC_SUCCESS) {
                    throw new KernelBuildException(name, forDevice, log(stack, p));
                }
                PointerBuffer size = stack.mallocPointer(1);
                if (nvrtcGetPTXSize(p, size) != NVRTC_SUCCESS) throw new DeviceException("nvrtcGetPTXSize failed");
                ByteBuffer ptx = MemoryUtil.memAlloc((int) size.get(0));
                try {
                    if (nvrtcGetPTX(p, ptx) != NVRTC_SUCCESS) throw new DeviceException("nvrtcGetPTX failed");
                    return MemoryUtil.memUTF8(MemoryUtil.memAddress(ptx)).getBytes(StandardCharsets.UTF_8);
                } finally {
                    MemoryUtil.memFree(ptx);
                }
            } finally {
                nvrtcDestroyProgram(stack.pointers(p));
            }
        }
    }

    /** NVRTC's version as "13.0". */
    public static String version() {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            var major = stack.mallocInt(1);
            var minor = stack.mallocInt(1);
            if (nvrtcVersion(major, minor) != NVRTC_SUCCESS) throw new DeviceException("nvrtcVersion failed");
            return major.get(0) + "." + minor.get(0);
        }
    }

    private static String log(MemoryStack stack, long p) {
        PointerBuffer logSize = stack.mallocPointer(1);
        nvrtcGetProgramLogSize(p, logSize);
        ByteBuffer log = MemoryUtil.memAlloc((int) Math.max(1, logSize.get(0)));
        try {
            nvrtcGetProgramLog(p, log);
            return MemoryUtil.memUTF8(MemoryUtil.memAddress(log)).trim();
        } finally {
            MemoryUtil.memFree(log);
        }
    }
}
