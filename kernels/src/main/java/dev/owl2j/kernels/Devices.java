package dev.owl2j.kernels;

import dev.owl2j.kernels.cuda.CuDevice;
import dev.owl2j.kernels.jvm.JvmDevice;
import dev.owl2j.kernels.opencl.ClDevice;
import dev.owl2j.kernels.vulkan.VulkanDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Every compute device this machine offers: CUDA devices first, then all OpenCL devices, then Vulkan devices, then
 * the JVM. Each API is probed once per
 * process, on first use (a run on the CPU never touches a driver), and silently: the driver library is looked up
 * with a plain {@code dlopen} before LWJGL is asked for it, because LWJGL prints several lines of loader advice on
 * stderr for every library it cannot find. When an API has no device, {@link #unavailableReason} says what is
 * missing and how to get it.
 */
public final class Devices {
    private static final Map<Api, List<Device>> FOUND = new EnumMap<>(Api.class);
    private static final Map<Api, String> WHY_NONE = new EnumMap<>(Api.class);

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

    /** Devices of one API; empty (never an exception, never a line on stderr) when its driver is missing. */
    public static synchronized List<Device> of(Api api) {
        List<Device> found = FOUND.get(api);
        if (found == null) {
            found = List.copyOf(probe(api));
            FOUND.put(api, found);
        }
        return found;
    }

    private static List<Device> probe(Api api) {
        if (api == Api.JAVA) {
            return List.of(JvmDevice.INSTANCE);
        }
        if (api == Api.VULKAN) {
            String lib = org.lwjgl.system.Configuration.VULKAN_LIBRARY_NAME.get("libvulkan.so.1");
            if (!loadable(lib)) {
                WHY_NONE.put(api, "no Vulkan loader: " + lib + " not found (install one with a driver, e.g. Debian's"
                        + " libvulkan1 and mesa-vulkan-drivers, or a GPU vendor's Vulkan package)");
                return List.of();
            }
            List<Device> ds = VulkanDevice.list();
            if (ds.isEmpty()) {
                WHY_NONE.put(api, VulkanDevice.unavailableReason() != null ? VulkanDevice.unavailableReason()
                        : "the Vulkan loader found no device");
            }
            return ds;
        }
        if (api == Api.CUDA) {
            List<Device> ds = CuDevice.list();
            if (ds.isEmpty()) {
                WHY_NONE.put(api, CuDevice.unavailableReason() != null ? CuDevice.unavailableReason()
                        : "the CUDA driver found no GPU");
            }
            return ds;
        }
        String lib = org.lwjgl.system.Configuration.OPENCL_LIBRARY_NAME.get();
        if (lib != null && !loadable(lib)) {
            WHY_NONE.put(api, "no OpenCL loader: " + lib + " not found (install one with a driver, e.g. Debian's"
                    + " ocl-icd-libopencl1 and pocl-opencl-icd for the CPU, or a GPU vendor's OpenCL package)");
            return List.of();
        }
        try {
            List<Device> ds = ClDevice.list();
            if (ds.isEmpty()) {
                WHY_NONE.put(api, "the OpenCL loader found no driver (no platform is registered in /etc/OpenCL/vendors;"
                        + " install one, e.g. pocl-opencl-icd for the CPU or a GPU vendor's OpenCL package)");
            }
            return ds;
        } catch (Throwable t) { // a loader that cannot be bound (UnsatisfiedLinkError, an initializer error)
            WHY_NONE.put(api, "the OpenCL loader " + (lib == null ? "" : lib + " ") + "could not be used"
                    + (t.getMessage() == null ? "" : ": " + t.getMessage().lines().findFirst().orElse("")));
            return List.of();
        }
    }

    /** True when the dynamic linker can load {@code lib} (by soname or path); nothing is printed either way. */
    static boolean loadable(String lib) {
        try {
            SymbolLookup.libraryLookup(lib, Arena.global());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
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

    /** Why an API lists no devices (driver missing, init failed), or null when it has some or was not probed yet. */
    public static synchronized String unavailableReason(Api api) {
        return WHY_NONE.get(api);
    }
}
