package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.DeviceException;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VK;
import org.lwjgl.vulkan.VkApplicationInfo;
import org.lwjgl.vulkan.VkInstance;
import org.lwjgl.vulkan.VkInstanceCreateInfo;

import java.nio.IntBuffer;

import static org.lwjgl.vulkan.VK10.*;
import static org.lwjgl.vulkan.VK11.vkEnumerateInstanceVersion;

/**
 * The process's one Vulkan instance, created on first use and kept for the life of the JVM (devices listed from
 * it stay valid, and instance creation is the slow part of a listing). A missing loader ({@code libvulkan.so.1})
 * or an instance the loader refuses (no driver, a broken ICD file) leaves {@link #instance()} null and a
 * one-line reason in {@link #unavailableReason()}; nothing here throws for a machine without Vulkan.
 */
final class Vulkan {
    /** The oldest API version Owl2J uses: 1.1 brings 16-bit storage, subgroup properties and properties2 into core. */
    static final int MIN_API = VK_MAKE_API_VERSION(0, 1, 1, 0);

    private static VkInstance instance;
    private static String unavailable;
    private static boolean tried;

    private Vulkan() {}

    static synchronized VkInstance instance() {
        if (tried) return instance;
        tried = true;
        try {
            VK.getFunctionProvider(); // loads libvulkan.so.1 (LWJGL's Linux default), throws when it is absent
        } catch (Throwable t) {
            unavailable = "Vulkan loader not available (" + t.getClass().getSimpleName() + ": " + oneLine(t.getMessage()) + ")";
            return null;
        }
        try (MemoryStack s = MemoryStack.stackPush()) {
            IntBuffer v = s.mallocInt(1);
            int loader = vkEnumerateInstanceVersion(v) == VK_SUCCESS ? v.get(0) : VK_API_VERSION_1_0;
            if (loader < MIN_API) {
                unavailable = "Vulkan loader " + version(loader) + " is older than 1.1";
                return null;
            }
            // Ask for the newest version both sides know (capped at 1.3); each device still reports its own.
            int api = Math.min(loader, VK_MAKE_API_VERSION(0, 1, 3, 0));
            VkApplicationInfo app = VkApplicationInfo.calloc(s).sType$Default()
                    .pApplicationName(s.UTF8("owl2j")).pEngineName(s.UTF8("owl2j")).apiVersion(api);
            VkInstanceCreateInfo ci = VkInstanceCreateInfo.calloc(s).sType$Default().pApplicationInfo(app);
            PointerBuffer p = s.mallocPointer(1);
            int rc = vkCreateInstance(ci, null, p);
            if (rc != VK_SUCCESS) {
                unavailable = "no usable Vulkan driver (vkCreateInstance: " + result(rc) + ")";
                return null;
            }
            instance = new VkInstance(p.get(0), ci);
            return instance;
        } catch (Throwable t) {
            unavailable = "Vulkan initialisation failed (" + t.getClass().getSimpleName() + ": " + oneLine(t.getMessage()) + ")";
            return null;
        }
    }

    static synchronized String unavailableReason() {
        return unavailable;
    }

    static synchronized void setUnavailable(String reason) {
        unavailable = reason;
    }

    static void check(int rc, String what) {
        if (rc != VK_SUCCESS) throw new DeviceException(what + " failed with " + result(rc));
    }

    static String version(int v) {
        return VK_API_VERSION_MAJOR(v) + "." + VK_API_VERSION_MINOR(v) + "." + VK_API_VERSION_PATCH(v);
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s+", " ").trim();
    }

    /** VK_ERROR_OUT_OF_DEVICE_MEMORY (-2) and so on, for error messages. */
    static String result(int rc) {
        String name = switch (rc) {
            case VK_NOT_READY -> "VK_NOT_READY";
            case VK_TIMEOUT -> "VK_TIMEOUT";
            case VK_INCOMPLETE -> "VK_INCOMPLETE";
            case VK_ERROR_OUT_OF_HOST_MEMORY -> "VK_ERROR_OUT_OF_HOST_MEMORY";
            case VK_ERROR_OUT_OF_DEVICE_MEMORY -> "VK_ERROR_OUT_OF_DEVICE_MEMORY";
            case VK_ERROR_INITIALIZATION_FAILED -> "VK_ERROR_INITIALIZATION_FAILED";
            case VK_ERROR_DEVICE_LOST -> "VK_ERROR_DEVICE_LOST";
            case VK_ERROR_MEMORY_MAP_FAILED -> "VK_ERROR_MEMORY_MAP_FAILED";
            case VK_ERROR_LAYER_NOT_PRESENT -> "VK_ERROR_LAYER_NOT_PRESENT";
            case VK_ERROR_EXTENSION_NOT_PRESENT -> "VK_ERROR_EXTENSION_NOT_PRESENT";
            case VK_ERROR_FEATURE_NOT_PRESENT -> "VK_ERROR_FEATURE_NOT_PRESENT";
            case VK_ERROR_INCOMPATIBLE_DRIVER -> "VK_ERROR_INCOMPATIBLE_DRIVER";
            case VK_ERROR_TOO_MANY_OBJECTS -> "VK_ERROR_TOO_MANY_OBJECTS";
            case VK_ERROR_FORMAT_NOT_SUPPORTED -> "VK_ERROR_FORMAT_NOT_SUPPORTED";
            case VK_ERROR_FRAGMENTED_POOL -> "VK_ERROR_FRAGMENTED_POOL";
            case -1000069000 -> "VK_ERROR_OUT_OF_POOL_MEMORY";
            default -> null;
        };
        return name != null ? name : "VkResult " + rc;
    }
}
