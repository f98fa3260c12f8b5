package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.ExecutionPlan;
import dev.owl2j.kernels.KernelCache;
import dev.owl2j.kernels.KernelProgram;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.Program;
import dev.owl2j.kernels.TaskGraph;
import dev.owl2j.kernels.compiler.Capabilities;
import dev.owl2j.kernels.compiler.target.GlslTarget;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;
import org.lwjgl.vulkan.VkBufferCopy;
import org.lwjgl.vulkan.VkCommandBuffer;
import org.lwjgl.vulkan.VkCommandBufferAllocateInfo;
import org.lwjgl.vulkan.VkCommandBufferBeginInfo;
import org.lwjgl.vulkan.VkCommandPoolCreateInfo;
import org.lwjgl.vulkan.VkDeviceCreateInfo;
import org.lwjgl.vulkan.VkDeviceQueueCreateInfo;
import org.lwjgl.vulkan.VkFenceCreateInfo;
import org.lwjgl.vulkan.VkMemoryBarrier;
import org.lwjgl.vulkan.VkPhysicalDevice16BitStorageFeatures;
import org.lwjgl.vulkan.VkPhysicalDeviceFeatures2;
import org.lwjgl.vulkan.VkPhysicalDeviceShaderFloat16Int8Features;
import org.lwjgl.vulkan.VkQueue;
import org.lwjgl.vulkan.VkSubmitInfo;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static dev.owl2j.kernels.vulkan.Vulkan.check;
import static org.lwjgl.vulkan.VK10.*;

/**
 * An open Vulkan device: one logical device with one compute queue, used in order like an OpenCL in-order queue.
 * <ul>
 *   <li>Buffers live in device-local memory; {@link Buffer#write} and {@link Buffer#read} go through one
 *       host-visible staging buffer of {@link #STAGING_BYTES} in pieces (uploads alternate between its halves so
 *       that host and device copies overlap), so a memory-mapped checkpoint tensor is copied straight from the
 *       mapping without a heap copy.</li>
 *   <li>{@link #launch} records the dispatch into a pending command buffer (a full memory barrier between
 *       commands keeps the in-order semantics); the buffer is submitted by {@link #finish}, by a transfer, or
 *       when its descriptor pool is used up.</li>
 *   <li>Arguments: one storage-buffer binding per buffer argument in argument order (set 0), the scalars as
 *       push constants in argument order (4 bytes each; long and double 8, aligned), the work-group size as
 *       specialization constants 0-2.</li>
 *   <li>{@link #plan} records a task graph once into a command buffer that each run resubmits ({@link VulkanPlan}).</li>
 * </ul>
 */
public final class VulkanContext implements ComputeContext {
    /** Staging piece for uploads and downloads: large enough to stream weights, small beside any device's memory. */
    static final int STAGING_BYTES = 16 << 20;
    /** Descriptor sets recorded before the pending command buffer is submitted and its pool reset. */
    private static final int POOL_SETS = 512;
    private static final int POOL_BINDINGS = POOL_SETS * 16;

    final VulkanDevice device;
    final org.lwjgl.vulkan.VkDevice dev;
    final VkQueue queue;
    final long commandPool;
    private final long fence;
    /** The two upload slots (halves of the staging buffer) of {@link #write}. */
    private final VkCommandBuffer[] uploadCb = new VkCommandBuffer[2];
    private final long[] uploadFence = new long[2];
    private final boolean[] uploadBusy = new boolean[2];
    private final KernelCache cache = KernelCache.standard();
    final Pipelines pipelines;
    private final VulkanMemory.Allocation staging;
    private final List<VulkanProgram> programs = new ArrayList<>();
    final VulkanMemory memory;

    private VkCommandBuffer pending;
    private final DescriptorPool pool;
    private long allocated;
    private boolean closed;

    /** Whether 16-bit storage and shaderFloat64 are enabled (where the device has them). */
    private final boolean storage16;
    private final boolean float64;

    VulkanContext(VulkanDevice device, boolean optionalFeatures) {
        this.device = device;
        this.storage16 = optionalFeatures && device.storage16;
        this.float64 = optionalFeatures && device.float64;
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkDeviceQueueCreateInfo.Buffer q = VkDeviceQueueCreateInfo.calloc(1, s).sType$Default()
                    .queueFamilyIndex(device.queueFamily).pQueuePriorities(s.floats(1f));
            // Enable exactly the optional features the device has; the kernels are compiled to match them.
            VkPhysicalDeviceFeatures2 f2 = VkPhysicalDeviceFeatures2.calloc(s).sType$Default();
            f2.features().shaderInt64(device.int64).shaderFloat64(float64);
            VkPhysicalDevice16BitStorageFeatures f16 = VkPhysicalDevice16BitStorageFeatures.calloc(s).sType$Default()
                    .storageBuffer16BitAccess(storage16);
            f2.pNext(f16.address());
            List<String> exts = new ArrayList<>();
            if (device.float16) {
                VkPhysicalDeviceShaderFloat16Int8Features fh = VkPhysicalDeviceShaderFloat16Int8Features.calloc(s)
                        .sType$Default().shaderFloat16(true);
                f16.pNext(fh.address());
                if (device.apiVersion < VK_MAKE_API_VERSION(0, 1, 2, 0)) exts.add("VK_KHR_shader_float16_int8");
            }
            PointerBuffer extNames = s.mallocPointer(Math.max(1, exts.size()));
            for (String e : exts) extNames.put(s.UTF8(e));
            extNames.flip();
            VkDeviceCreateInfo ci = VkDeviceCreateInfo.calloc(s).sType$Default().pNext(f2.address())
                    .pQueueCreateInfos(q).ppEnabledExtensionNames(exts.isEmpty() ? null : extNames);
            PointerBuffer p = s.mallocPointer(1);
            check(vkCreateDevice(device.physical, ci, null, p), "vkCreateDevice on " + device.name());
            dev = new org.lwjgl.vulkan.VkDevice(p.get(0), device.physical, ci);
            vkGetDeviceQueue(dev, device.queueFamily, 0, p);
            queue = new VkQueue(p.get(0), dev);

            VkCommandPoolCreateInfo pc = VkCommandPoolCreateInfo.calloc(s).sType$Default()
                    .flags(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT).queueFamilyIndex(device.queueFamily);
            java.nio.LongBuffer h = s.mallocLong(1);
            check(vkCreateCommandPool(dev, pc, null, h), "vkCreateCommandPool");
            commandPool = h.get(0);
            check(vkCreateFence(dev, VkFenceCreateInfo.calloc(s).sType$Default(), null, h), "vkCreateFence");
            fence = h.get(0);
            for (int i = 0; i < 2; i++) {
                check(vkCreateFence(dev, VkFenceCreateInfo.calloc(s).sType$Default(), null, h), "vkCreateFence");
                uploadFence[i] = h.get(0);
            }
        }
        memory = new VulkanMemory(this);
        staging = memory.hostBuffer(STAGING_BYTES);
        pool = new DescriptorPool(dev, POOL_SETS, POOL_BINDINGS);
        pipelines = new Pipelines(this, cache);
    }

    @Override
    public Device device() {
        return device;
    }

    /** The Vulkan device with its limits and features (what the GLSL target compiles for). */
    public VulkanDevice vulkanDevice() {
        return device;
    }

    /**
     * The macros that build generated GLSL for this device: 16-bit storage for short arrays and real doubles where
     * the device has them (see the GLSL target); without them shorts are read from 32-bit words and doubles are floats.
     */
    public String kernelOptions() {
        return ((storage16 ? "-DOWL_STORAGE16 " : "") + (float64 ? "-DOWL_FP64" : "")).trim();
    }

    @Override
    public KernelCache cache() {
        return cache;
    }

    @Override
    public Buffer allocate(long bytes) {
        long size = Math.max(4, (bytes + 3) & ~3L); // vkCmdFillBuffer and 32-bit word access need whole words
        VulkanMemory.Allocation a = memory.deviceBuffer(size);
        allocated += size;
        VulkanBuffer b = new VulkanBuffer(this, a, bytes);
        VkCommandBuffer cb = pendingBuffer();
        vkCmdFillBuffer(cb, a.buffer(), 0, size, 0);
        return b;
    }

    void freed(long size) {
        allocated -= size;
    }

    @Override
    public Program compile(String name, String source, String options) {
        VulkanProgram p = VulkanProgram.build(this, name, source, options, cache);
        programs.add(p);
        return p;
    }

    /**
     * Kernels written in Java, emitted as GLSL by {@link GlslTarget} and built like any other program with this
     * device's macros ({@link #kernelOptions()}) in front of the caller's options.
     */
    @Override
    public Program compile(KernelProgram program, String options) {
        KernelProgram.Compiled c = program.compiled(glslTarget());
        String opts = (kernelOptions() + " " + options).trim();
        VulkanProgram p = VulkanProgram.build(this, program.name(), c.source(), opts, cache);
        p.signatures = c.kernels();
        programs.add(p);
        return p;
    }

    /** The GLSL target for this device: long arithmetic only where the device has shaderInt64. */
    public GlslTarget glslTarget() {
        return new GlslTarget(new Capabilities(device.int64, true));
    }

    @Override
    public void launch(Launch l) {
        VulkanProgram.VulkanKernel k = (VulkanProgram.VulkanKernel) l.kernel();
        Object[] args = k.deviceArgs(l.args());
        Pipelines.Pipeline pipe = pipelines.get(k, l, args);
        if (!pool.fits(pipe.buffers())) flush();
        long set = pool.allocate(pipe);
        Pipelines.writeDescriptors(dev, set, args);
        VkCommandBuffer cb = pendingBuffer();
        pipe.record(cb, set, args);
    }

    /** The command buffer collecting launches and fills, begun on first use, with a barrier before each new command. */
    private VkCommandBuffer pendingBuffer() {
        if (pending == null) {
            pending = newCommandBuffer();
            begin(pending);
        }
        // Every command sees the results of every earlier one, in this submission and in earlier ones.
        fullBarrier(pending);
        return pending;
    }

    VkCommandBuffer newCommandBuffer() {
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkCommandBufferAllocateInfo ai = VkCommandBufferAllocateInfo.calloc(s).sType$Default()
                    .commandPool(commandPool).level(VK_COMMAND_BUFFER_LEVEL_PRIMARY).commandBufferCount(1);
            PointerBuffer p = s.mallocPointer(1);
            check(vkAllocateCommandBuffers(dev, ai, p), "vkAllocateCommandBuffers");
            return new VkCommandBuffer(p.get(0), dev);
        }
    }

    static void begin(VkCommandBuffer cb) {
        try (MemoryStack s = MemoryStack.stackPush()) {
            check(vkBeginCommandBuffer(cb, VkCommandBufferBeginInfo.calloc(s).sType$Default()), "vkBeginCommandBuffer");
        }
    }

    static final int ALL_STAGES = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    static final int ALL_WRITES = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    static final int ALL_ACCESS = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT
            | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

    static void fullBarrier(VkCommandBuffer cb) {
        barrier(cb, ALL_STAGES, ALL_WRITES, ALL_STAGES, ALL_ACCESS);
    }

    static void barrier(VkCommandBuffer cb, int srcStage, int srcAccess, int dstStage, int dstAccess) {
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkMemoryBarrier.Buffer mb = VkMemoryBarrier.calloc(1, s).sType$Default()
                    .srcAccessMask(srcAccess).dstAccessMask(dstAccess);
            vkCmdPipelineBarrier(cb, srcStage, dstStage, 0, mb, null, null);
        }
    }

    /** Submits cb and waits for it; returns the nanoseconds spent waiting. */
    long submitAndWait(VkCommandBuffer cb) {
        try (MemoryStack s = MemoryStack.stackPush()) {
            VkSubmitInfo si = VkSubmitInfo.calloc(s).sType$Default().pCommandBuffers(s.pointers(cb));
            check(vkQueueSubmit(queue, si, fence), "vkQueueSubmit");
            long t0 = System.nanoTime();
            check(vkWaitForFences(dev, s.longs(fence), true, -1L), "vkWaitForFences");
            long waited = System.nanoTime() - t0;
            check(vkResetFences(dev, fence), "vkResetFences");
            return waited;
        }
    }

    /** Submits the pending launches (if any) and waits; descriptor sets of finished launches are recycled. */
    void flush() {
        if (pending == null) return;
        VkCommandBuffer cb = pending;
        pending = null;
        try {
            check(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
            submitAndWait(cb);
        } finally {
            vkFreeCommandBuffers(dev, commandPool, cb);
            pool.reset();
        }
    }

    /** Copies between a device buffer and the staging buffer, one piece, blocking. */
    private void copy(long src, long srcOffset, long dst, long dstOffset, long bytes) {
        VkCommandBuffer cb = newCommandBuffer();
        try (MemoryStack s = MemoryStack.stackPush()) {
            begin(cb);
            fullBarrier(cb);
            VkBufferCopy.Buffer region = VkBufferCopy.calloc(1, s).srcOffset(srcOffset).dstOffset(dstOffset).size(bytes);
            vkCmdCopyBuffer(cb, src, dst, region);
            barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
            check(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
            submitAndWait(cb);
        } finally {
            vkFreeCommandBuffers(dev, commandPool, cb);
        }
    }

    /**
     * Uploads in pieces through the two halves of the staging buffer, each with its own command buffer and fence:
     * the host copies the next piece (from the mapped checkpoint, say) while the device copies the previous one.
     */
    void write(VulkanBuffer b, long byteOffset, ByteBuffer src) {
        flush();
        ByteBuffer direct = src;
        if (!src.isDirect()) {
            direct = MemoryUtil.memAlloc(src.remaining());
            direct.put(src.duplicate()).flip();
        }
        try {
            long addr = MemoryUtil.memAddress(direct);
            long n = direct.remaining();
            int half = STAGING_BYTES / 2;
            int slot = 0;
            try {
                for (long done = 0; done < n; done += half, slot ^= 1) {
                    int len = (int) Math.min(n - done, half);
                    waitUpload(slot);
                    MemoryUtil.memCopy(addr + done, staging.mapped() + (long) slot * half, len);
                    submitUpload(slot, (long) slot * half, b.allocation.buffer(), byteOffset + done, len);
                }
            } finally {
                waitUpload(0);
                waitUpload(1);
            }
        } finally {
            if (direct != src) MemoryUtil.memFree(direct);
        }
    }

    private void submitUpload(int slot, long stagingOffset, long dst, long dstOffset, int bytes) {
        if (uploadCb[slot] == null) uploadCb[slot] = newCommandBuffer();
        VkCommandBuffer cb = uploadCb[slot];
        try (MemoryStack s = MemoryStack.stackPush()) {
            check(vkResetCommandBuffer(cb, 0), "vkResetCommandBuffer");
            begin(cb);
            fullBarrier(cb); // after every earlier use of the target
            vkCmdCopyBuffer(cb, staging.buffer(), dst, VkBufferCopy.calloc(1, s).srcOffset(stagingOffset).dstOffset(dstOffset).size(bytes));
            check(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
            check(vkQueueSubmit(queue, VkSubmitInfo.calloc(s).sType$Default().pCommandBuffers(s.pointers(cb)), uploadFence[slot]),
                    "vkQueueSubmit");
            uploadBusy[slot] = true;
        }
    }

    private void waitUpload(int slot) {
        if (!uploadBusy[slot]) return;
        uploadBusy[slot] = false;
        check(vkWaitForFences(dev, uploadFence[slot], true, -1L), "vkWaitForFences");
        check(vkResetFences(dev, uploadFence[slot]), "vkResetFences");
    }

    void read(VulkanBuffer b, long byteOffset, ByteBuffer dst) {
        flush();
        long off = byteOffset;
        int pos = dst.position();
        while (pos < dst.limit()) {
            int n = Math.min(dst.limit() - pos, STAGING_BYTES);
            copy(b.allocation.buffer(), off, staging.buffer(), 0, n);
            MemoryUtil.memCopy(staging.mapped(), MemoryUtil.memAddress(dst, pos), n);
            pos += n;
            off += n;
        }
    }

    @Override
    public void finish() {
        flush();
    }

    @Override
    public long freeMemory() {
        return device.memoryBytes() - allocated;
    }

    @Override
    public long maxBindingBytes() {
        return device.maxStorageBufferRange;
    }

    @Override
    public ExecutionPlan plan(TaskGraph graph) {
        flush();
        return new VulkanPlan(this, graph);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            flush();
        } finally {
            vkDeviceWaitIdle(dev);
            for (VulkanProgram p : programs) p.close();
            pipelines.close();
            pool.close();
            staging.close();
            memory.close();
            vkDestroyFence(dev, fence, null);
            for (long f : uploadFence) vkDestroyFence(dev, f, null);
            vkDestroyCommandPool(dev, commandPool, null);
            vkDestroyDevice(dev, null);
        }
    }
}
