package dev.owl2j.kernels.cuda;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.lwjgl.cuda.CU.*;

/** A CUDA device through the driver API (libcuda); kernels are compiled by NVRTC at run time. */
public final class CuDevice implements Device {
    final int ordinal;
    private final String name;
    private final String driver;
    private final long memory;
    private final int sms;
    final int ccMajor;
    final int ccMinor;

    private CuDevice(int ordinal) {
        this.ordinal = ordinal;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer dev = stack.mallocInt(1);
            check(cuDeviceGet(dev, ordinal), "cuDeviceGet");
            ByteBuffer nameBuf = stack.calloc(256);
            check(cuDeviceGetName(nameBuf, dev.get(0)), "cuDeviceGetName");
            this.name = MemoryUtil.memASCII(MemoryUtil.memAddress(nameBuf)).trim();
            PointerBuffer mem = stack.mallocPointer(1);
            check(cuDeviceTotalMem(mem, dev.get(0)), "cuDeviceTotalMem");
            this.memory = mem.get(0);
            this.sms = attribute(dev.get(0), CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
            this.ccMajor = attribute(dev.get(0), CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
            this.ccMinor = attribute(dev.get(0), CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
            IntBuffer ver = stack.mallocInt(1);
            String v = cuDriverGetVersion(ver) == CUDA_SUCCESS ? (ver.get(0) / 1000) + "." + (ver.get(0) % 1000 / 10) : "?";
            this.driver = "CUDA " + v + ", sm_" + ccMajor + ccMinor;
        }
    }

    private static volatile String unavailable;

    /**
     * All CUDA devices; empty (never an error) when libcuda is missing, no driver is loaded or cuInit fails.
     * {@link #unavailableReason()} then says why.
     */
    public static List<Device> list() {
        List<Device> out = new ArrayList<>();
        String lib = org.lwjgl.system.Configuration.CUDA_LIBRARY_NAME.get();
        if (lib != null && !loadable(lib)) {
            // checked with a plain dlopen first so machines without NVIDIA's driver get one clear line instead of
            // LWJGL's multi-line loader advice on stderr
            unavailable = "no CUDA driver: " + lib + " not found (the NVIDIA driver is not installed)";
            return out;
        }
        try (MemoryStack stack = MemoryStack.stackPush()) {
            int rc = cuInit(0);
            if (rc != CUDA_SUCCESS) {
                unavailable = "the CUDA driver did not start (cuInit: CUDA error " + rc + (rc == 100 ? ", no CUDA-capable device" : "") + ")";
                return out;
            }
            IntBuffer n = stack.mallocInt(1);
            check(cuDeviceGetCount(n), "cuDeviceGetCount");
            for (int i = 0; i < n.get(0); i++) out.add(new CuDevice(i));
        } catch (Throwable t) { // UnsatisfiedLinkError / ExceptionInInitializerError when libcuda.so is absent
            unavailable = "the CUDA driver " + lib + " could not be used"
                    + (t.getMessage() == null ? "" : ": " + t.getMessage().lines().findFirst().orElse(""));
        }
        return out;
    }

    private static boolean loadable(String lib) {
        try {
            java.lang.foreign.SymbolLookup.libraryLookup(lib, java.lang.foreign.Arena.global());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    public static String unavailableReason() {
        return unavailable;
    }

    private static int attribute(int dev, int attr) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer v = stack.mallocInt(1);
            check(cuDeviceGetAttribute(v, attr, dev), "cuDeviceGetAttribute");
            return v.get(0);
        }
    }

    static void check(int rc, String what) {
        if (rc != CUDA_SUCCESS) throw new DeviceException(what + " failed with CUDA error " + rc);
    }

    @Override public Api api() { return Api.CUDA; }
    @Override public int index() { return ordinal; }
    @Override public String name() { return name; }
    @Override public String driver() { return driver; }
    @Override public long memoryBytes() { return memory; }
    @Override public int computeUnits() { return sms; }
    @Override public boolean gpu() { return true; }
    @Override public boolean fp16LoadStore() { return true; }
    @Override public boolean fp16Arithmetic() { return ccMajor * 10 + ccMinor >= 53; }
    @Override public boolean subgroups() { return true; }
    @Override public boolean tensorCores() { return ccMajor >= 7; }

    @Override
    public ComputeContext open() {
        return new CuContext(this);
    }
}
