package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkExtensionProperties;
import org.lwjgl.vulkan.VkInstance;
import org.lwjgl.vulkan.VkPhysicalDevice;
import org.lwjgl.vulkan.VkPhysicalDevice16BitStorageFeatures;
import org.lwjgl.vulkan.VkPhysicalDevice8BitStorageFeatures;
import org.lwjgl.vulkan.VkPhysicalDeviceDriverProperties;
import org.lwjgl.vulkan.VkPhysicalDeviceFeatures2;
import org.lwjgl.vulkan.VkPhysicalDeviceLimits;
import org.lwjgl.vulkan.VkPhysicalDeviceMemoryProperties;
import org.lwjgl.vulkan.VkPhysicalDeviceProperties;
import org.lwjgl.vulkan.VkPhysicalDeviceProperties2;
import org.lwjgl.vulkan.VkPhysicalDeviceShaderFloat16Int8Features;
import org.lwjgl.vulkan.VkPhysicalDeviceSubgroupProperties;
import org.lwjgl.vulkan.VkQueueFamilyProperties;

import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import static org.lwjgl.vulkan.VK10.*;
import static org.lwjgl.vulkan.VK11.*;

/**
 * A Vulkan physical device with a compute queue, as Owl2J uses it: its limits (storage-buffer range, push
 * constants, work-group sizes) and the optional features the kernels can use (16-bit storage for F16 weights,
 * shaderFloat16, shaderInt64, subgroup operations). 8-bit storage is reported but never required: quantized
 * blocks are read through 32-bit words.
 */
public final class VulkanDevice implements Device {
    final VkPhysicalDevice physical;
    final int queueFamily;
    final int apiVersion;
    private final int index;
    private final String name;
    private final String type;
    private final String driver;
    private final long memory;
    final Set<String> extensions;
    /** Device limits Owl2J checks before a launch or a binding. */
    final long maxStorageBufferRange;
    final int maxPushConstantsSize;
    final int maxWorkGroupInvocations;
    final int[] maxWorkGroupSize = new int[3];
    final int[] maxWorkGroupCount = new int[3];
    final int maxSharedMemory;
    final long minStorageBufferOffsetAlignment;
    final int subgroupSize;
    final boolean subgroupArithmetic;
    final boolean storage16;
    final boolean storage8;
    final boolean float16;
    final boolean int64;
    final boolean float64;

    private VulkanDevice(VkPhysicalDevice physical, int index, int queueFamily) {
        this.physical = physical;
        this.index = index;
        this.queueFamily = queueFamily;
        this.extensions = extensionsOf(physical);
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkPhysicalDeviceProperties plain = VkPhysicalDeviceProperties.calloc(s);
            vkGetPhysicalDeviceProperties(physical, plain);
            this.apiVersion = plain.apiVersion();
            boolean v12 = apiVersion >= VK_MAKE_API_VERSION(0, 1, 2, 0);
            boolean driverProps = v12 || extensions.contains("VK_KHR_driver_properties");

            VkPhysicalDeviceSubgroupProperties sub = VkPhysicalDeviceSubgroupProperties.calloc(s).sType$Default();
            VkPhysicalDeviceDriverProperties drv = VkPhysicalDeviceDriverProperties.calloc(s).sType$Default();
            VkPhysicalDeviceProperties2 p2 = VkPhysicalDeviceProperties2.calloc(s).sType$Default().pNext(sub.address());
            if (driverProps) sub.pNext(drv.address());
            vkGetPhysicalDeviceProperties2(physical, p2);
            VkPhysicalDeviceProperties p = p2.properties();
            this.name = p.deviceNameString();
            this.type = switch (p.deviceType()) {
                case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU -> "discrete";
                case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU -> "integrated";
                case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU -> "virtual";
                case VK_PHYSICAL_DEVICE_TYPE_CPU -> "cpu";
                default -> "other";
            };
            String drvName = driverProps ? (drv.driverNameString() + " " + drv.driverInfoString()).trim() : "";
            this.driver = (drvName.isEmpty() ? "driver " + Integer.toUnsignedString(p.driverVersion()) : drvName)
                    + ", Vulkan " + Vulkan.version(apiVersion);
            VkPhysicalDeviceLimits lim = p.limits();
            this.maxStorageBufferRange = Integer.toUnsignedLong(lim.maxStorageBufferRange());
            this.maxPushConstantsSize = lim.maxPushConstantsSize();
            this.maxWorkGroupInvocations = lim.maxComputeWorkGroupInvocations();
            for (int d = 0; d < 3; d++) {
                maxWorkGroupSize[d] = lim.maxComputeWorkGroupSize(d);
                maxWorkGroupCount[d] = lim.maxComputeWorkGroupCount(d);
            }
            this.maxSharedMemory = lim.maxComputeSharedMemorySize();
            this.minStorageBufferOffsetAlignment = lim.minStorageBufferOffsetAlignment();
            this.subgroupSize = sub.subgroupSize();
            this.subgroupArithmetic = (sub.supportedStages() & VK_SHADER_STAGE_COMPUTE_BIT) != 0
                    && (sub.supportedOperations() & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;

            VkPhysicalDeviceFeatures2 f2 = VkPhysicalDeviceFeatures2.calloc(s).sType$Default();
            VkPhysicalDevice16BitStorageFeatures f16 = VkPhysicalDevice16BitStorageFeatures.calloc(s).sType$Default();
            VkPhysicalDevice8BitStorageFeatures f8 = VkPhysicalDevice8BitStorageFeatures.calloc(s).sType$Default();
            VkPhysicalDeviceShaderFloat16Int8Features fh = VkPhysicalDeviceShaderFloat16Int8Features.calloc(s).sType$Default();
            f2.pNext(f16.address());
            // Structures of extensions the device lacks must not be chained (1.1 devices without them).
            long tail = f16.address();
            boolean has8 = v12 || extensions.contains("VK_KHR_8bit_storage");
            boolean hasHalf = v12 || extensions.contains("VK_KHR_shader_float16_int8");
            if (has8) {
                f16.pNext(f8.address());
                tail = f8.address();
            }
            if (hasHalf) {
                if (tail == f8.address()) f8.pNext(fh.address()); else f16.pNext(fh.address());
            }
            vkGetPhysicalDeviceFeatures2(physical, f2);
            this.storage16 = f16.storageBuffer16BitAccess();
            this.storage8 = has8 && f8.storageBuffer8BitAccess();
            this.float16 = hasHalf && fh.shaderFloat16();
            this.int64 = f2.features().shaderInt64();
            this.float64 = f2.features().shaderFloat64();

            VkPhysicalDeviceMemoryProperties mem = VkPhysicalDeviceMemoryProperties.calloc(s);
            vkGetPhysicalDeviceMemoryProperties(physical, mem);
            long total = 0;
            for (int h = 0; h < mem.memoryHeapCount(); h++) {
                if ((mem.memoryHeaps(h).flags() & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0) total += mem.memoryHeaps(h).size();
            }
            this.memory = total;
        }
    }

    /** Every physical device with a compute queue and Vulkan 1.1; empty (never an exception) without a driver. */
    public static List<Device> list() {
        List<Device> out = new ArrayList<>();
        VkInstance inst = Vulkan.instance();
        if (inst == null) return out;
        try (MemoryStack s = MemoryStack.stackPush()) {
            IntBuffer n = s.mallocInt(1);
            int rc = vkEnumeratePhysicalDevices(inst, n, null);
            if (rc != VK_SUCCESS || n.get(0) == 0) {
                Vulkan.setUnavailable(rc != VK_SUCCESS ? "vkEnumeratePhysicalDevices failed with " + Vulkan.result(rc)
                        : "the Vulkan loader found no device (no driver installed?)");
                return out;
            }
            PointerBuffer ps = s.mallocPointer(n.get(0));
            Vulkan.check(vkEnumeratePhysicalDevices(inst, n, ps), "vkEnumeratePhysicalDevices");
            List<String> skipped = new ArrayList<>();
            for (int i = 0; i < ps.capacity(); i++) {
                VkPhysicalDevice pd = new VkPhysicalDevice(ps.get(i), inst);
                VkPhysicalDeviceProperties p = VkPhysicalDeviceProperties.calloc(s);
                vkGetPhysicalDeviceProperties(pd, p);
                int family = computeFamily(pd);
                if (p.apiVersion() < Vulkan.MIN_API || family < 0) {
                    skipped.add(p.deviceNameString() + (family < 0 ? " has no compute queue" : " supports only Vulkan " + Vulkan.version(p.apiVersion())));
                    continue;
                }
                out.add(new VulkanDevice(pd, out.size(), family));
            }
            if (out.isEmpty()) Vulkan.setUnavailable("no Vulkan 1.1 compute device: " + String.join(", ", skipped));
        } catch (RuntimeException e) {
            Vulkan.setUnavailable("listing Vulkan devices failed: " + Vulkan.oneLine(e.getMessage()));
            out.clear();
        }
        return out;
    }

    /** Why {@link #list()} is empty, or null. */
    public static String unavailableReason() {
        return Vulkan.unavailableReason();
    }

    /** The first queue family that can run compute work (a dedicated compute family is not needed: one queue in order). */
    private static int computeFamily(VkPhysicalDevice pd) {
        try (MemoryStack s = MemoryStack.stackPush()) {
            IntBuffer n = s.mallocInt(1);
            vkGetPhysicalDeviceQueueFamilyProperties(pd, n, null);
            VkQueueFamilyProperties.Buffer qs = VkQueueFamilyProperties.calloc(n.get(0), s);
            vkGetPhysicalDeviceQueueFamilyProperties(pd, n, qs);
            for (int i = 0; i < qs.capacity(); i++) {
                if ((qs.get(i).queueFlags() & VK_QUEUE_COMPUTE_BIT) != 0 && qs.get(i).queueCount() > 0) return i;
            }
            return -1;
        }
    }

    private static Set<String> extensionsOf(VkPhysicalDevice pd) {
        try (MemoryStack s = MemoryStack.stackPush()) {
            IntBuffer n = s.mallocInt(1);
            Set<String> out = new HashSet<>();
            if (vkEnumerateDeviceExtensionProperties(pd, (java.nio.ByteBuffer) null, n, null) != VK_SUCCESS) return out;
            VkExtensionProperties.Buffer es = VkExtensionProperties.calloc(n.get(0), s);
            if (vkEnumerateDeviceExtensionProperties(pd, (java.nio.ByteBuffer) null, n, es) != VK_SUCCESS) return out;
            for (int i = 0; i < es.capacity(); i++) out.add(es.get(i).extensionNameString());
            return out;
        }
    }

    @Override public Api api() { return Api.VULKAN; }
    @Override public int index() { return index; }
    @Override public String name() { return name; }
    @Override public String driver() { return driver; }
    @Override public long memoryBytes() { return memory; }
    /** Vulkan does not report compute units; the subgroup size is listed instead ({@link #features()}). */
    @Override public int computeUnits() { return 0; }
    /** Discrete, integrated and virtual GPUs count as GPUs; lavapipe is a CPU device. */
    @Override public boolean gpu() { return !type.equals("cpu") && !type.equals("other"); }
    /** F16 is always loadable: through 16-bit storage when present, else unpacked from 32-bit words. */
    @Override public boolean fp16LoadStore() { return true; }
    @Override public boolean fp16Arithmetic() { return float16; }
    @Override public boolean subgroups() { return subgroupArithmetic; }
    @Override public boolean tensorCores() { return false; }

    /** "discrete", "integrated", "virtual", "cpu" or "other". */
    public String type() { return type; }

    public boolean discreteGpu() { return type.equals("discrete"); }

    public int subgroupSize() { return subgroupSize; }

    public boolean storageBuffer16Bit() { return storage16; }

    public boolean storageBuffer8Bit() { return storage8; }

    public boolean shaderFloat16() { return float16; }

    public boolean shaderInt64() { return int64; }

    public boolean shaderFloat64() { return float64; }

    public long maxStorageBufferRange() { return maxStorageBufferRange; }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "vulkan:%d %s (%s %s, %.1f GiB)", index, name, type, gpu() ? "GPU" : "device",
                memory / (double) (1L << 30));
    }

    /** "type=cpu subgroup=8 storage16 storage8 float16 int64 float64", the words `owl2j devices` lists. */
    @Override
    public String features() {
        StringBuilder sb = new StringBuilder("type=").append(type).append(" subgroup=").append(subgroupSize);
        if (storage16) sb.append(" storage16");
        if (storage8) sb.append(" storage8");
        if (float16) sb.append(" float16");
        if (int64) sb.append(" int64");
        if (float64) sb.append(" float64");
        if (subgroupArithmetic) sb.append(" subgroup-arith");
        return sb.toString();
    }

    @Override
    public ComputeContext open() {
        return new VulkanContext(this, true);
    }

    /**
     * A context that leaves 16-bit storage and shaderFloat64 off, so kernels take the paths of devices without
     * them (shorts read from 32-bit words, doubles as floats): lets one device test both paths.
     */
    public ComputeContext openWithoutOptionalFeatures() {
        return new VulkanContext(this, false);
    }
}
