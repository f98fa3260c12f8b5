package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.KernelCache;
import dev.owl2j.kernels.Launch;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;
import org.lwjgl.vulkan.VkCommandBuffer;
import org.lwjgl.vulkan.VkComputePipelineCreateInfo;
import org.lwjgl.vulkan.VkDescriptorBufferInfo;
import org.lwjgl.vulkan.VkDescriptorSetLayoutBinding;
import org.lwjgl.vulkan.VkDescriptorSetLayoutCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkPhysicalDeviceProperties;
import org.lwjgl.vulkan.VkPipelineCacheCreateInfo;
import org.lwjgl.vulkan.VkPipelineLayoutCreateInfo;
import org.lwjgl.vulkan.VkPushConstantRange;
import org.lwjgl.vulkan.VkSpecializationInfo;
import org.lwjgl.vulkan.VkSpecializationMapEntry;
import org.lwjgl.vulkan.VkWriteDescriptorSet;

import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

import static dev.owl2j.kernels.vulkan.Vulkan.check;
import static org.lwjgl.vulkan.VK10.*;

/**
 * Compute pipelines per (kernel, work-group size, buffer count, push-constant bytes), made on first use through a
 * VkPipelineCache that is loaded from and saved to the kernel cache directory (the driver checks the cache
 * header against its own device and version and ignores a stale one). The work-group size is specialization
 * constants 0, 1, 2, so one SPIR-V module serves every group size.
 */
final class Pipelines {
    private final VulkanContext ctx;
    private final KernelCache cache;
    private final String cacheKey;
    private final long pipelineCache;
    private final Map<Integer, Long> setLayouts = new HashMap<>();
    private final Map<Long, Long> layouts = new HashMap<>();
    private final Map<String, Pipeline> pipelines = new HashMap<>();

    /** A ready pipeline and what a launch of it binds. */
    record Pipeline(long pipeline, long layout, long setLayout, int buffers, int pushBytes, boolean doubles, int[] groups) {
        /** Records bind, push constants and dispatch for one launch whose descriptor set is already written. */
        void record(VkCommandBuffer cb, long set, Object[] args) {
            try (MemoryStack s = MemoryStack.stackPush()) {
                vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
                vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, s.longs(set), null);
                if (pushBytes > 0) {
                    ByteBuffer pc = s.calloc(pushBytes);
                    int off = 0;
                    for (Object a : args) {
                        int size = scalarBytes(a, doubles);
                        if (size == 0) continue;
                        off = (off + size - 1) / size * size;
                        switch (a) {
                            case Integer v -> pc.putInt(off, v);
                            case Float v -> pc.putFloat(off, v);
                            case Long v -> pc.putLong(off, v);
                            case Double v -> {
                                if (doubles) pc.putDouble(off, v); else pc.putFloat(off, v.floatValue());
                            }
                            default -> throw new IllegalStateException("scalar " + a);
                        }
                        off += size;
                    }
                    vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, pc);
                }
                vkCmdDispatch(cb, groups[0], groups[1], groups[2]);
            }
        }
    }

    /**
     * Bytes of a scalar argument in the push-constant block (0 for buffers): 4 for int and float, 8 for long, and 8
     * for double where the device has shaderFloat64, else 4 (the kernels then see Java's doubles as floats).
     */
    static int scalarBytes(Object a, boolean doubles) {
        return switch (a) {
            case Integer v -> 4;
            case Float v -> 4;
            case Long v -> 8;
            case Double v -> doubles ? 8 : 4;
            default -> 0;
        };
    }

    /** The push-constant block of these arguments: scalars in order, each aligned to its size (GLSL std430). */
    static int pushBytes(Object[] args, boolean doubles) {
        int off = 0;
        for (Object a : args) {
            int size = scalarBytes(a, doubles);
            if (size > 0) off = (off + size - 1) / size * size + size;
        }
        return off;
    }

    Pipelines(VulkanContext ctx, KernelCache cache) {
        this.ctx = ctx;
        this.cache = cache;
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkPhysicalDeviceProperties p = VkPhysicalDeviceProperties.calloc(s);
            vkGetPhysicalDeviceProperties(ctx.device.physical, p);
            byte[] uuid = new byte[16];
            p.pipelineCacheUUID().get(uuid);
            cacheKey = KernelCache.key("vulkan-pipelines", ctx.device.name(), ctx.device.driver(), "", HexFormat.of().formatHex(uuid));
            byte[] saved = cache.get(cacheKey, "vkpipelines");
            ByteBuffer data = saved == null ? null : MemoryUtil.memAlloc(saved.length).put(saved).flip();
            try {
                VkPipelineCacheCreateInfo ci = VkPipelineCacheCreateInfo.calloc(s).sType$Default().pInitialData(data);
                LongBuffer h = s.mallocLong(1);
                int rc = vkCreatePipelineCache(ctx.dev, ci, null, h);
                if (rc != VK_SUCCESS && data != null) { // a driver refusing old data: start empty
                    rc = vkCreatePipelineCache(ctx.dev, VkPipelineCacheCreateInfo.calloc(s).sType$Default(), null, h);
                }
                check(rc, "vkCreatePipelineCache");
                pipelineCache = h.get(0);
            } finally {
                if (data != null) MemoryUtil.memFree(data);
            }
        }
    }

    /** The pipeline for this launch (args: the device's arguments), after checking it against the device's limits. */
    Pipeline get(VulkanProgram.VulkanKernel k, Launch l, Object[] args) {
        VulkanDevice d = ctx.device;
        int[] local = {1, 1, 1};
        int[] groups = {1, 1, 1};
        long invocations = 1;
        for (int i = 0; i < l.local().length; i++) {
            if (l.local()[i] > d.maxWorkGroupSize[i]) {
                throw new DeviceException(String.format(Locale.ROOT, "launch of %s: work-group size %d in dimension %d exceeds this device's %d",
                        k.name(), l.local()[i], i, d.maxWorkGroupSize[i]));
            }
            local[i] = (int) l.local()[i];
            invocations *= local[i];
            long g = l.global()[i] / l.local()[i];
            if (g > Integer.toUnsignedLong(d.maxWorkGroupCount[i])) {
                throw new DeviceException(String.format(Locale.ROOT, "launch of %s: %d work groups in dimension %d exceed this device's %d",
                        k.name(), g, i, Integer.toUnsignedLong(d.maxWorkGroupCount[i])));
            }
            groups[i] = (int) g;
        }
        if (invocations > d.maxWorkGroupInvocations) {
            throw new DeviceException("launch of " + k.name() + ": " + invocations + " work items per group exceed this device's "
                    + d.maxWorkGroupInvocations);
        }
        int buffers = 0;
        for (Object a : args) {
            Buffer b = Launch.bufferOf(a);
            if (b == null) continue;
            if (!(b instanceof VulkanBuffer vb)) throw new DeviceException("launch of " + k.name() + ": a buffer of another device");
            if (vb.size() > d.maxStorageBufferRange) {
                throw new DeviceException(String.format(Locale.ROOT,
                        "launch of %s: a buffer of %.1f MiB exceeds this device's largest storage-buffer binding (maxStorageBufferRange %.1f MiB)",
                        k.name(), vb.size() / 1048576.0, d.maxStorageBufferRange / 1048576.0));
            }
            buffers++;
        }
        boolean doubles = k.program().doubles;
        int pushBytes = pushBytes(args, doubles);
        if (pushBytes > d.maxPushConstantsSize) {
            throw new DeviceException("launch of " + k.name() + ": its scalar arguments take " + pushBytes
                    + " bytes, more than this device's " + d.maxPushConstantsSize + " bytes of push constants");
        }
        String key = k.module() + ":" + doubles + ":" + local[0] + "," + local[1] + "," + local[2] + ":" + buffers + ":" + pushBytes;
        Pipeline p = pipelines.get(key);
        if (p == null) {
            p = create(k, local, buffers, pushBytes, doubles, groups);
            pipelines.put(key, p);
        }
        return groups[0] == p.groups()[0] && groups[1] == p.groups()[1] && groups[2] == p.groups()[2] ? p
                : new Pipeline(p.pipeline(), p.layout(), p.setLayout(), buffers, pushBytes, doubles, groups);
    }

    private long setLayout(int buffers) {
        return setLayouts.computeIfAbsent(buffers, n -> {
            try (MemoryStack s = MemoryStack.stackPush()) {
                VkDescriptorSetLayoutBinding.Buffer bs = VkDescriptorSetLayoutBinding.calloc(Math.max(1, n), s);
                for (int i = 0; i < n; i++) {
                    bs.get(i).binding(i).descriptorType(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER).descriptorCount(1)
                            .stageFlags(VK_SHADER_STAGE_COMPUTE_BIT);
                }
                VkDescriptorSetLayoutCreateInfo ci = VkDescriptorSetLayoutCreateInfo.calloc(s).sType$Default()
                        .pBindings(n == 0 ? null : bs.limit(n));
                LongBuffer h = s.mallocLong(1);
                check(vkCreateDescriptorSetLayout(ctx.dev, ci, null, h), "vkCreateDescriptorSetLayout");
                return h.get(0);
            }
        });
    }

    private long layout(int buffers, int pushBytes) {
        long set = setLayout(buffers);
        return layouts.computeIfAbsent(((long) buffers << 32) | pushBytes, x -> {
            try (MemoryStack s = MemoryStack.stackPush()) {
                VkPushConstantRange.Buffer pc = VkPushConstantRange.calloc(1, s)
                        .stageFlags(VK_SHADER_STAGE_COMPUTE_BIT).offset(0).size(pushBytes);
                VkPipelineLayoutCreateInfo ci = VkPipelineLayoutCreateInfo.calloc(s).sType$Default()
                        .pSetLayouts(s.longs(set)).pPushConstantRanges(pushBytes == 0 ? null : pc);
                LongBuffer h = s.mallocLong(1);
                check(vkCreatePipelineLayout(ctx.dev, ci, null, h), "vkCreatePipelineLayout");
                return h.get(0);
            }
        });
    }

    private Pipeline create(VulkanProgram.VulkanKernel k, int[] local, int buffers, int pushBytes, boolean doubles, int[] groups) {
        long layout = layout(buffers, pushBytes);
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkSpecializationMapEntry.Buffer entries = VkSpecializationMapEntry.calloc(3, s);
            for (int i = 0; i < 3; i++) entries.get(i).constantID(i).offset(4 * i).size(4);
            ByteBuffer data = s.malloc(12);
            data.putInt(local[0]).putInt(local[1]).putInt(local[2]).flip();
            VkSpecializationInfo spec = VkSpecializationInfo.calloc(s).pMapEntries(entries).pData(data);
            VkComputePipelineCreateInfo.Buffer ci = VkComputePipelineCreateInfo.calloc(1, s).sType$Default().layout(layout);
            ci.stage().sType$Default().stage(VK_SHADER_STAGE_COMPUTE_BIT).module(k.module()).pName(s.UTF8("main"))
                    .pSpecializationInfo(spec);
            LongBuffer h = s.mallocLong(1);
            int rc = vkCreateComputePipelines(ctx.dev, pipelineCache, ci, null, h);
            if (rc != VK_SUCCESS) {
                throw new DeviceException("creating the pipeline of kernel " + k.name() + " failed with " + Vulkan.result(rc));
            }
            return new Pipeline(h.get(0), layout, setLayout(buffers), buffers, pushBytes, doubles, groups);
        }
    }

    /** Binding i of set = the i-th buffer argument, whole. */
    static void writeDescriptors(VkDevice dev, long set, Object[] args) {
        int n = 0;
        for (Object a : args) if (Launch.bufferOf(a) != null) n++;
        if (n == 0) return;
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkWriteDescriptorSet.Buffer w = VkWriteDescriptorSet.calloc(n, s);
            int i = 0;
            for (Object a : args) {
                Buffer b = Launch.bufferOf(a);
                if (b == null) continue;
                VulkanBuffer vb = (VulkanBuffer) b;
                VkDescriptorBufferInfo.Buffer info = VkDescriptorBufferInfo.calloc(1, s).buffer(vb.handle()).offset(0).range(vb.size());
                w.get(i).sType$Default().dstSet(set).dstBinding(i).descriptorCount(1)
                        .descriptorType(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER).pBufferInfo(info);
                i++;
            }
            vkUpdateDescriptorSets(dev, w, null);
        }
    }

    /** Saves the pipeline cache for the next process and destroys everything made here. */
    void close() {
        try (MemoryStack s = MemoryStack.stackPush()) {
            PointerBuffer size = s.mallocPointer(1);
            if (vkGetPipelineCacheData(ctx.dev, pipelineCache, size, null) == VK_SUCCESS && size.get(0) > 0) {
                ByteBuffer data = MemoryUtil.memAlloc((int) size.get(0));
                try {
                    if (vkGetPipelineCacheData(ctx.dev, pipelineCache, size, data) == VK_SUCCESS) {
                        byte[] bytes = new byte[(int) size.get(0)];
                        data.get(0, bytes);
                        cache.put(cacheKey, "vkpipelines", bytes);
                    }
                } finally {
                    MemoryUtil.memFree(data);
                }
            }
        }
        for (Pipeline p : pipelines.values()) vkDestroyPipeline(ctx.dev, p.pipeline(), null);
        for (long l : layouts.values()) vkDestroyPipelineLayout(ctx.dev, l, null);
        for (long l : setLayouts.values()) vkDestroyDescriptorSetLayout(ctx.dev, l, null);
        vkDestroyPipelineCache(ctx.dev, pipelineCache, null);
    }
}
