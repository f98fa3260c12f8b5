package dev.owl2j.kernels.vulkan;

import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkDescriptorPoolCreateInfo;
import org.lwjgl.vulkan.VkDescriptorPoolSize;
import org.lwjgl.vulkan.VkDescriptorSetAllocateInfo;
import org.lwjgl.vulkan.VkDevice;

import java.nio.LongBuffer;

import static dev.owl2j.kernels.vulkan.Vulkan.check;
import static org.lwjgl.vulkan.VK10.*;

/**
 * Storage-buffer descriptor sets for launches, counted so that the pool is never over-drawn: a caller asks
 * {@link #fits} first and resets the pool once the command buffers using its sets have finished.
 */
final class DescriptorPool {
    private final VkDevice dev;
    private final long pool;
    private final int maxSets;
    private final int maxBindings;
    private int sets;
    private int bindings;

    DescriptorPool(VkDevice dev, int maxSets, int maxBindings) {
        this.dev = dev;
        this.maxSets = Math.max(1, maxSets);
        this.maxBindings = Math.max(1, maxBindings);
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkDescriptorPoolSize.Buffer sizes = VkDescriptorPoolSize.calloc(1, s)
                    .type(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER).descriptorCount(this.maxBindings);
            VkDescriptorPoolCreateInfo ci = VkDescriptorPoolCreateInfo.calloc(s).sType$Default()
                    .maxSets(this.maxSets).pPoolSizes(sizes);
            LongBuffer h = s.mallocLong(1);
            check(vkCreateDescriptorPool(dev, ci, null, h), "vkCreateDescriptorPool");
            pool = h.get(0);
        }
    }

    boolean fits(int buffers) {
        return sets < maxSets && bindings + buffers <= maxBindings;
    }

    long allocate(Pipelines.Pipeline pipe) {
        sets++;
        bindings += pipe.buffers();
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkDescriptorSetAllocateInfo ai = VkDescriptorSetAllocateInfo.calloc(s).sType$Default()
                    .descriptorPool(pool).pSetLayouts(s.longs(pipe.setLayout()));
            LongBuffer h = s.mallocLong(1);
            check(vkAllocateDescriptorSets(dev, ai, h), "vkAllocateDescriptorSets");
            return h.get(0);
        }
    }

    void reset() {
        vkResetDescriptorPool(dev, pool, 0);
        sets = 0;
        bindings = 0;
    }

    void close() {
        vkDestroyDescriptorPool(dev, pool, null);
    }
}
