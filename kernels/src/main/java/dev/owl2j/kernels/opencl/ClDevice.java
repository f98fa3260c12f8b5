package dev.owl2j.kernels.opencl;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;

import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.lwjgl.opencl.CL10.*;

/** An OpenCL device (any platform the ICD loader lists: PoCL, NVIDIA, ...). */
public final class ClDevice implements Device {
    final long platform;
    final long id;
    private final int index;
    private final String name;
    private final String driver;
    private final long memory;
    private final int units;
    private final boolean gpu;
    private final String extensions;

    ClDevice(long platform, long id, int index) {
        this.platform = platform;
        this.id = id;
        this.index = index;
        this.name = deviceString(id, CL_DEVICE_NAME).trim();
        this.driver = platformString(platform, CL_PLATFORM_NAME).trim() + " " + deviceString(id, CL_DRIVER_VERSION).trim();
        this.memory = deviceLong(id, CL_DEVICE_GLOBAL_MEM_SIZE);
        this.units = (int) deviceInt(id, CL_DEVICE_MAX_COMPUTE_UNITS);
        long type = deviceLong(id, CL_DEVICE_TYPE);
        this.gpu = (type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
        this.extensions = deviceString(id, CL_DEVICE_EXTENSIONS);
    }

    /** All devices of all platforms; empty when there is no OpenCL loader or no platform. */
    public static List<Device> list() {
        List<Device> out = new ArrayList<>();
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer n = stack.mallocInt(1);
            if (clGetPlatformIDs(null, n) != CL_SUCCESS || n.get(0) == 0) return out;
            PointerBuffer platforms = stack.mallocPointer(n.get(0));
            check(clGetPlatformIDs(platforms, (IntBuffer) null), "clGetPlatformIDs");
            for (int p = 0; p < platforms.capacity(); p++) {
                IntBuffer nd = stack.mallocInt(1);
                if (clGetDeviceIDs(platforms.get(p), CL_DEVICE_TYPE_ALL, null, nd) != CL_SUCCESS || nd.get(0) == 0) continue;
                PointerBuffer devs = stack.mallocPointer(nd.get(0));
                check(clGetDeviceIDs(platforms.get(p), CL_DEVICE_TYPE_ALL, devs, (IntBuffer) null), "clGetDeviceIDs");
                for (int d = 0; d < devs.capacity(); d++) {
                    out.add(new ClDevice(platforms.get(p), devs.get(d), out.size()));
                }
            }
        }
        return out;
    }

    @Override public Api api() { return Api.OPENCL; }
    @Override public int index() { return index; }
    @Override public String name() { return name; }
    @Override public String driver() { return driver; }
    @Override public long memoryBytes() { return memory; }
    @Override public int computeUnits() { return units; }
    @Override public boolean gpu() { return gpu; }
    /** vload_half/vstore_half are core OpenCL C 1.x, so every device can load and store F16. */
    @Override public boolean fp16LoadStore() { return true; }
    @Override public boolean fp16Arithmetic() { return extensions.contains("cl_khr_fp16"); }
    @Override public boolean subgroups() { return extensions.contains("cl_khr_subgroups") || extensions.contains("cl_intel_subgroups"); }
    /** OpenCL exposes no tensor-core instructions portably. */
    @Override public boolean tensorCores() { return false; }

    @Override
    public ComputeContext open() {
        return new ClContext(this);
    }

    static void check(int err, String what) {
        if (err != CL_SUCCESS) throw new DeviceException(what + " failed with OpenCL error " + err);
    }

    static String deviceString(long dev, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(clGetDeviceInfo(dev, param, (ByteBuffer) null, size), "clGetDeviceInfo");
            ByteBuffer b = stack.malloc((int) size.get(0));
            check(clGetDeviceInfo(dev, param, b, null), "clGetDeviceInfo");
            return org.lwjgl.system.MemoryUtil.memASCII(b, b.remaining() - 1);
        }
    }

    static String platformString(long platform, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(clGetPlatformInfo(platform, param, (ByteBuffer) null, size), "clGetPlatformInfo");
            ByteBuffer b = stack.malloc((int) size.get(0));
            check(clGetPlatformInfo(platform, param, b, null), "clGetPlatformInfo");
            return org.lwjgl.system.MemoryUtil.memASCII(b, b.remaining() - 1);
        }
    }

    static long deviceLong(long dev, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            LongBuffer b = stack.mallocLong(1);
            check(clGetDeviceInfo(dev, param, b, null), "clGetDeviceInfo");
            return b.get(0);
        }
    }

    static long deviceInt(long dev, int param) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer b = stack.mallocInt(1);
            check(clGetDeviceInfo(dev, param, b, null), "clGetDeviceInfo");
            return b.get(0) & 0xffffffffL;
        }
    }
}
