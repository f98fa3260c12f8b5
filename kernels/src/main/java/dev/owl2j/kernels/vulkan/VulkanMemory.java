package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.DeviceException;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkBufferCreateInfo;
import org.lwjgl.vulkan.VkMemoryAllocateInfo;
import org.lwjgl.vulkan.VkMemoryRequirements;
import org.lwjgl.vulkan.VkPhysicalDeviceMemoryProperties;

import java.nio.LongBuffer;
import java.util.Locale;

import static dev.owl2j.kernels.vulkan.Vulkan.check;
import static org.lwjgl.vulkan.VK10.*;

/**
 * Buffers with their own memory allocation each: device-local for kernel data, host-visible and coherent for
 * staging. One allocation per buffer keeps this simple; the model has about a thousand tensors, well below the
 * 4096 allocations every driver allows.
 */
final class VulkanMemory {
    private final VulkanContext ctx;
    private final VkPhysicalDeviceMemoryProperties props;

    /** A buffer and its memory; mapped is the host address of host-visible memory, else 0. */
    record Allocation(VulkanContext ctx, long buffer, long memory, long size, long mapped) {
        void close() {
            if (mapped != 0) vkUnmapMemory(ctx.dev, memory);
            vkDestroyBuffer(ctx.dev, buffer, null);
            vkFreeMemory(ctx.dev, memory, null);
        }
    }

    VulkanMemory(VulkanContext ctx) {
        this.ctx = ctx;
        this.props = VkPhysicalDeviceMemoryProperties.calloc();
        vkGetPhysicalDeviceMemoryProperties(ctx.device.physical, props);
    }

    Allocation deviceBuffer(long size) {
        return create(size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, false);
    }

    /** Host-visible, coherent and mapped; cached where the device offers it, since the host also reads it back. */
    Allocation hostBuffer(long size) {
        return create(size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                VK_MEMORY_PROPERTY_HOST_CACHED_BIT, true);
    }

    private Allocation create(long size, int usage, int required, int preferred, boolean map) {
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkBufferCreateInfo bi = VkBufferCreateInfo.calloc(s).sType$Default().size(size).usage(usage)
                    .sharingMode(VK_SHARING_MODE_EXCLUSIVE);
            LongBuffer h = s.mallocLong(1);
            int rc = vkCreateBuffer(ctx.dev, bi, null, h);
            if (rc != VK_SUCCESS) throw tooLarge(size, rc);
            long buffer = h.get(0);
            VkMemoryRequirements req = VkMemoryRequirements.calloc(s);
            vkGetBufferMemoryRequirements(ctx.dev, buffer, req);
            int type = memoryType(req.memoryTypeBits(), required | preferred);
            if (type < 0) type = memoryType(req.memoryTypeBits(), required);
            // A device without a device-local type for storage buffers (rare) still runs from any memory.
            if (type < 0 && (required & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0) type = memoryType(req.memoryTypeBits(), 0);
            if (type < 0) {
                vkDestroyBuffer(ctx.dev, buffer, null);
                throw new DeviceException("no suitable Vulkan memory type on " + ctx.device.name());
            }
            VkMemoryAllocateInfo ai = VkMemoryAllocateInfo.calloc(s).sType$Default().allocationSize(req.size()).memoryTypeIndex(type);
            rc = vkAllocateMemory(ctx.dev, ai, null, h);
            if (rc != VK_SUCCESS) {
                vkDestroyBuffer(ctx.dev, buffer, null);
                throw tooLarge(size, rc);
            }
            long mem = h.get(0);
            check(vkBindBufferMemory(ctx.dev, buffer, mem, 0), "vkBindBufferMemory");
            long mapped = 0;
            if (map) {
                PointerBuffer p = s.mallocPointer(1);
                check(vkMapMemory(ctx.dev, mem, 0, VK_WHOLE_SIZE, 0, p), "vkMapMemory");
                mapped = p.get(0);
            }
            return new Allocation(ctx, buffer, mem, size, mapped);
        }
    }

    private DeviceException tooLarge(long size, int rc) {
        return new DeviceException(String.format(Locale.ROOT, "cannot allocate %.1f MiB on %s (%s)",
                size / 1048576.0, ctx.device.name(), Vulkan.result(rc)));
    }

    private int memoryType(int bits, int flags) {
        for (int i = 0; i < props.memoryTypeCount(); i++) {
            if ((bits & (1 << i)) != 0 && (props.memoryTypes(i).propertyFlags() & flags) == flags) return i;
        }
        return -1;
    }

    void close() {
        props.free();
    }
}
