package dev.owl2j.kernels;

import dev.owl2j.kernels.cuda.CuDevice;
import dev.owl2j.kernels.jvm.JvmDevice;
import dev.owl2j.kernels.opencl.ClDevice;
import dev.owl2j.kernels.vulkan.VulkanDevice;

import java.util.ArrayList;
import java.util.List;

/** Every compute device this machine offers: CUDA devices first, then all OpenCL devices, then Vulkan devices, then the JVM. */
public final class Devices {
    private static volatile String openclUnavailable;

    static {
        // The driver packages install only the runtime sonames (libOpenCL.so.1, libcuda.so.1); the unversioned
        // names LWJGL looks for by default come with -dev packages, which GPU machines often lack.
        if (System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            if (System.getProperty("org.lwjgl.opencl.libname") == null) {
                org.lwjgl.system.Configuration.OPENCL_LIBRARY_NAME.set("libOpenCL.so.1");
            }
            if (System.getProperty("org.lwjgl.cuda.libname") == null) {
                org.lwjgl.system.Configuration.CUDA_LIBRARY_NAME.set("libcuda.so.1");
            }
        }
    }

    private Devices() {}

    public static List<Device> list() {
        List<Device> out = new ArrayList<>(of(Api.CUDA));
        out.addAll(of(Api.OPENCL));
        out.addAll(of(Api.VULKAN));
        out.addAll(of(Api.JAVA));
        return out;
    }

    /** Devices of one API; empty (never an exception) when its driver library is missing. */
    public static List<Device> of(Api api) {
        if (api == Api.CUDA) return CuDevice.list();
        if (api == Api.VULKAN) return VulkanDevice.list();
        if (api == Api.JAVA) return List.of(JvmDevice.INSTANCE);
        try {
            return ClDevice.list();
        } catch (Throwable t) { // no libOpenCL.so: UnsatisfiedLinkError or an initializer error from LWJGL
            openclUnavailable = "OpenCL not available (" + t.getClass().getSimpleName() + ": " + t.getMessage() + ")";
            return List.of();
        }
    }

    /** The device at this index of the API's list; DeviceException naming what exists otherwise. */
    public static Device get(Api api, int index) {
        List<Device> ds = of(api);
        if (index < 0 || index >= ds.size()) {
            String why = unavailableReason(api);
            throw new DeviceException("no " + api.id() + " device " + index + " (found " + ds.size() + ")"
                    + (ds.isEmpty() && why != null ? ": " + why : ""));
        }
        return ds.get(index);
    }

    /** Why an API lists no devices (driver missing, init failed), or null. */
    public static String unavailableReason(Api api) {
        return switch (api) {
            case CUDA -> CuDevice.unavailableReason();
            case VULKAN -> VulkanDevice.unavailableReason();
            case OPENCL -> openclUnavailable;
            case JAVA -> null;
        };
    }
}
