package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ExecutionPlan;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.TaskGraph;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;
import org.lwjgl.vulkan.VkBufferCopy;
import org.lwjgl.vulkan.VkCommandBuffer;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

import static dev.owl2j.kernels.vulkan.Vulkan.check;
import static org.lwjgl.vulkan.VK10.*;

/**
 * A task graph in Vulkan form, the idea of TornadoVM's execution plans and CUDA Graphs: the per-step uploads
 * (copies from mapped host-visible buffers), every dispatch with its descriptor set and push constants, the
 * pipeline barriers between them and the downloads are recorded ONCE into one command buffer at build time. A
 * run writes the per-step inputs into the mapped upload buffers, resubmits that command buffer, waits on its
 * fence and copies the outputs out of the mapped download buffers; no argument is ever set again, so values
 * that change per step (position, token) travel in the small buffers the kernels read.
 *
 * <p>A barrier is recorded only where a dispatch touches a buffer that an earlier dispatch since the last
 * barrier wrote (read after write, write after write) or read (write after read), from the graph's declared
 * {@link Launch.Access} modes; independent dispatches run without one.
 */
final class VulkanPlan implements ExecutionPlan {
    private final VulkanContext ctx;
    private final TaskGraph graph;
    private final VkCommandBuffer cb;
    private final DescriptorPool pool;
    private final VulkanMemory.Allocation[] ups;
    private final VulkanMemory.Allocation[] downs;
    private final int dispatches;
    private int barriers;
    private long runs;
    private long waitNanos;
    private boolean closed;

    VulkanPlan(VulkanContext ctx, TaskGraph graph) {
        this.ctx = ctx;
        this.graph = graph;
        List<TaskGraph.Task> tasks = graph.tasks();
        List<TaskGraph.Upload> uploads = graph.uploads();
        List<TaskGraph.Download> downloads = graph.downloads();
        int bindings = 0;
        Pipelines.Pipeline[] pipes = new Pipelines.Pipeline[tasks.size()];
        Object[][] args = new Object[tasks.size()][];
        for (int i = 0; i < tasks.size(); i++) {
            Launch l = tasks.get(i).launch();
            VulkanProgram.VulkanKernel k = (VulkanProgram.VulkanKernel) l.kernel();
            args[i] = k.deviceArgs(l.args());
            pipes[i] = ctx.pipelines.get(k, l, args[i]);
            bindings += pipes[i].buffers();
        }
        pool = new DescriptorPool(ctx.dev, tasks.size(), bindings);
        ups = new VulkanMemory.Allocation[uploads.size()];
        downs = new VulkanMemory.Allocation[downloads.size()];
        for (int i = 0; i < ups.length; i++) {
            if (uploads.get(i).mode() == TaskGraph.Mode.EVERY_EXECUTION) ups[i] = ctx.memory.hostBuffer(bytes(uploads.get(i).host()));
        }
        for (int i = 0; i < downs.length; i++) downs[i] = ctx.memory.hostBuffer(bytes(downloads.get(i).host()));
        dispatches = tasks.size();

        cb = ctx.newCommandBuffer();
        VulkanContext.begin(cb);
        // Earlier submissions (uploads, direct launches, the previous run) must be visible to this one.
        VulkanContext.fullBarrier(cb);
        for (int i = 0; i < ups.length; i++) {
            if (ups[i] != null) copy(ups[i].buffer(), ((VulkanBuffer) uploads.get(i).target()).handle(), ups[i].size());
        }
        if (ups.length > 0) {
            VulkanContext.barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        }
        Set<Buffer> written = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Buffer> read = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < tasks.size(); i++) {
            Launch l = tasks.get(i).launch();
            if (hazard(l, written, read)) {
                VulkanContext.barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
                barriers++;
                written.clear();
                read.clear();
            }
            for (Object a : l.args()) {
                Buffer b = Launch.bufferOf(a);
                if (b == null) continue;
                if (!(a instanceof Launch.Access acc) || acc.writes()) written.add(b);
                if (!(a instanceof Launch.Access acc) || acc.reads()) read.add(b);
            }
            long set = pool.allocate(pipes[i]);
            Pipelines.writeDescriptors(ctx.dev, set, args[i]);
            pipes[i].record(cb, set, args[i]);
        }
        if (downs.length > 0) {
            VulkanContext.barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                    VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
            for (int i = 0; i < downs.length; i++) {
                copy(((VulkanBuffer) downloads.get(i).source()).handle(), downs[i].buffer(), downs[i].size());
            }
            VulkanContext.barrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
        }
        check(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
    }

    private static boolean hazard(Launch l, Set<Buffer> written, Set<Buffer> read) {
        for (Object a : l.args()) {
            Buffer b = Launch.bufferOf(a);
            if (b == null) continue;
            boolean writes = !(a instanceof Launch.Access acc) || acc.writes();
            if (written.contains(b) || (writes && read.contains(b))) return true;
        }
        return false;
    }

    private static long bytes(Object host) {
        return Math.max(4, 4L * (host instanceof int[] a ? a.length : ((float[]) host).length));
    }

    private void copy(long src, long dst, long bytes) {
        try (MemoryStack s = MemoryStack.stackPush()) {
            vkCmdCopyBuffer(cb, src, dst, VkBufferCopy.calloc(1, s).srcOffset(0).dstOffset(0).size(bytes));
        }
    }

    @Override
    public void run() {
        ctx.flush();
        List<TaskGraph.Upload> uploads = graph.uploads();
        for (int i = 0; i < uploads.size(); i++) {
            TaskGraph.Upload u = uploads.get(i);
            if (u.mode() == TaskGraph.Mode.FIRST_EXECUTION) {
                if (runs == 0) {
                    if (u.host() instanceof int[] a) u.target().write(a, 0); else u.target().write((float[]) u.host(), 0);
                }
                continue;
            }
            long addr = ups[i].mapped();
            if (u.host() instanceof int[] a) MemoryUtil.memIntBuffer(addr, a.length).put(a);
            else MemoryUtil.memFloatBuffer(addr, ((float[]) u.host()).length).put((float[]) u.host());
        }
        waitNanos += ctx.submitAndWait(cb);
        List<TaskGraph.Download> downloads = graph.downloads();
        for (int i = 0; i < downloads.size(); i++) {
            Object host = downloads.get(i).host();
            long addr = downs[i].mapped();
            if (host instanceof int[] a) MemoryUtil.memIntBuffer(addr, a.length).get(a);
            else MemoryUtil.memFloatBuffer(addr, ((float[]) host).length).get((float[]) host);
        }
        runs++;
    }

    @Override
    public long runs() {
        return runs;
    }

    @Override
    public long deviceWaitNanos() {
        return waitNanos;
    }

    /** Dispatches and barriers recorded: a barrier count below the dispatch count means independent tasks overlap. */
    @Override
    public String description() {
        return "vulkan command buffer, " + dispatches + " dispatches, " + barriers + " barriers";
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        vkFreeCommandBuffers(ctx.dev, ctx.commandPool, cb);
        pool.close();
        for (VulkanMemory.Allocation a : ups) if (a != null) a.close();
        for (VulkanMemory.Allocation a : downs) a.close();
    }
}
