package dev.owl2j.kernels.cuda;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.ExecutionPlan;
import dev.owl2j.kernels.Kernel;
import dev.owl2j.kernels.KernelBuildException;
import dev.owl2j.kernels.KernelCache;
import dev.owl2j.kernels.KernelProgram;
import dev.owl2j.kernels.KernelSignature;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.Program;
import dev.owl2j.kernels.TaskGraph;
import dev.owl2j.kernels.compiler.target.CudaTarget;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.owl2j.kernels.cuda.CuDevice.check;
import static org.lwjgl.cuda.CU.*;

/**
 * CUDA context + one stream. Sources go through NVRTC to PTX (cached on disk), loaded with cuModuleLoadData.
 * Plans are captured once into a CUDA Graph and replayed with cuGraphLaunch; per-run inputs are copied to
 * their device buffers on the same stream before the launch, outputs after it.
 */
final class CuContext implements ComputeContext {
    private final CuDevice device;
    private final long context;
    private final long stream;
    private final KernelCache cache = KernelCache.standard();
    private final List<CuModule> modules = new ArrayList<>();
    private boolean closed;

    CuContext(CuDevice device) {
        this.device = device;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            java.nio.IntBuffer dev = stack.mallocInt(1);
            check(cuDeviceGet(dev, device.ordinal), "cuDeviceGet");
            PointerBuffer ctx = stack.mallocPointer(1);
            check(cuCtxCreate(ctx, 0, dev.get(0)), "cuCtxCreate");
            context = ctx.get(0);
            PointerBuffer s = stack.mallocPointer(1);
            check(cuStreamCreate(s, 0), "cuStreamCreate");
            stream = s.get(0);
        }
    }

    /** CUDA contexts are current per thread; every entry point makes ours current first. */
    private void bind() {
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    @Override public Device device() { return device; }
    @Override public KernelCache cache() { return cache; }

    @Override
    public Buffer allocate(long bytes) {
        bind();
        long size = Math.max(4, (bytes + 3) & ~3L);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer p = stack.mallocPointer(1);
            int rc = cuMemAlloc(p, size);
            if (rc != CUDA_SUCCESS) {
                throw new DeviceException(String.format("cannot allocate %.1f MiB on %s (CUDA error %d)", size / 1048576.0, device.name(), rc));
            }
            check(cuMemsetD8(p.get(0), (byte) 0, size), "cuMemsetD8");
            return new CuBuffer(p.get(0), bytes, size);
        }
    }

    final class CuBuffer implements Buffer {
        final long ptr;
        private final long bytes;
        private final long size;
        private boolean freed;

        CuBuffer(long ptr, long bytes, long size) {
            this.ptr = ptr;
            this.bytes = bytes;
            this.size = size;
        }

        @Override public long bytes() { return bytes; }

        @Override
        public void write(long byteOffset, ByteBuffer src) {
            range(byteOffset, src.remaining());
            bind();
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
            check(cuMemcpyHtoD(ptr + byteOffset, src), "cuMemcpyHtoD");
        }

        @Override
        public void read(long byteOffset, ByteBuffer dst) {
            range(byteOffset, dst.remaining());
            bind();
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
            check(cuMemcpyDtoH(dst, ptr + byteOffset), "cuMemcpyDtoH");
        }

        private void range(long off, long n) {
            if (off < 0 || off + n > size) {
                throw new DeviceException("buffer access [" + off + ", " + (off + n) + ") outside a buffer of " + bytes + " bytes");
            }
        }

        @Override
        public void close() {
            if (!freed) {
                freed = true;
                bind();
                cuMemFree(ptr);
            }
        }
    }

    @Override
    public Program compile(String name, String source, String options) {
        bind();
        String arch = "--gpu-architecture=compute_" + device.ccMajor + device.ccMinor;
        String allOptions = (arch + " " + options).trim();
        String key = KernelCache.key("cuda", device.name(), device.driver(), allOptions, source);
        byte[] ptx = cache.get(key, "ptx");
        boolean cached = ptx != null;
        if (ptx == null) {
            ptx = Nvrtc.compile(name, source, allOptions, device.name());
            cache.put(key, "ptx", ptx);
        }
        try (MemoryStack stack = MemoryStack.stackPush()) {
            ByteBuffer image = MemoryUtil.memAlloc(ptx.length + 1);
            try {
                image.put(ptx).put((byte) 0).flip();
                PointerBuffer module = stack.mallocPointer(1);
                check(cuModuleLoadData(module, image), "cuModuleLoadData " + name);
                CuModule m = new CuModule(name, module.get(0), cached);
                modules.add(m);
                return m;
            } finally {
                MemoryUtil.memFree(image);
            }
        }
    }

    @Override
    public Program compile(KernelProgram program, String options) {
        KernelProgram.Compiled c = program.compiled(new CudaTarget());
        CuModule m = (CuModule) compile(program.name(), c.source(), options);
        m.signatures = c.kernels();
        return m;
    }

    final class CuModule implements Program {
        final long module;
        private final String name;
        private final boolean cached;
        private final Map<String, CuKernel> kernels = new HashMap<>();
        /** For programs compiled from Java: the kernels by Java method name. */
        Map<String, KernelSignature> signatures;

        CuModule(String name, long module, boolean cached) {
            this.name = name;
            this.module = module;
            this.cached = cached;
        }

        @Override public String name() { return name; }
        @Override public boolean fromCache() { return cached; }

        @Override
        public Kernel kernel(String entryPoint) {
            return kernels.computeIfAbsent(entryPoint, e -> {
                KernelSignature sig = null;
                String device = e;
                if (signatures != null) {
                    sig = signatures.get(e);
                    if (sig == null) throw new DeviceException("kernel program '" + name + "' has no kernel " + e);
                    device = sig.deviceName();
                }
                bind();
                try (MemoryStack stack = MemoryStack.stackPush()) {
                    PointerBuffer f = stack.mallocPointer(1);
                    int rc = cuModuleGetFunction(f, module, device);
                    if (rc != CUDA_SUCCESS) throw new DeviceException("kernel program '" + name + "' has no kernel " + e + " (CUDA error " + rc + ")");
                    return new CuKernel(this, e, f.get(0), sig);
                }
            });
        }

        private boolean unloaded;

        @Override
        public void close() {
            if (unloaded) return;
            unloaded = true;
            bind();
            cuModuleUnload(module);
        }
    }

    record CuKernel(CuModule program, String name, long function, KernelSignature signature) implements Kernel {}

    /** Native memory holding each argument's value and the void*[] array cuLaunchKernel takes. */
    private static final class Params implements AutoCloseable {
        final ByteBuffer values;
        final PointerBuffer pointers;

        Params(Kernel k, Object[] javaArgs) {
            Object[] args = k.signature() == null ? javaArgs : k.signature().deviceArgs(javaArgs);
            values = MemoryUtil.memAlloc(Math.max(8, args.length * 8)).order(ByteOrder.nativeOrder());
            pointers = MemoryUtil.memAllocPointer(Math.max(1, args.length));
            long base = MemoryUtil.memAddress(values);
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (a instanceof Integer v) values.putInt(i * 8, v);
                else if (a instanceof Float v) values.putFloat(i * 8, v);
                else if (a instanceof Long v) values.putLong(i * 8, v);
                else if (a instanceof Double v) values.putDouble(i * 8, v);
                else values.putLong(i * 8, ((CuBuffer) Launch.bufferOf(a)).ptr);
                pointers.put(i, base + i * 8L);
            }
        }

        @Override
        public void close() {
            MemoryUtil.memFree(values);
            MemoryUtil.memFree(pointers);
        }
    }

    private void launchOn(Launch l, Params params) {
        CuKernel k = (CuKernel) l.kernel();
        int[] grid = {1, 1, 1};
        int[] block = {1, 1, 1};
        for (int d = 0; d < l.global().length; d++) {
            block[d] = (int) l.local()[d];
            grid[d] = (int) (l.global()[d] / l.local()[d]);
        }
        int rc = cuLaunchKernel(k.function(), grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, stream, params.pointers, null);
        if (rc != CUDA_SUCCESS) throw new DeviceException("launching kernel " + k.name() + " failed with CUDA error " + rc);
    }

    @Override
    public void launch(Launch l) {
        bind();
        try (Params p = new Params(l.kernel(), l.args())) {
            launchOn(l, p); // kernel parameters are copied at launch, so the memory can go right away
        }
    }

    @Override
    public void finish() {
        bind();
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    @Override
    public long freeMemory() {
        bind();
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer free = stack.mallocPointer(1);
            PointerBuffer total = stack.mallocPointer(1);
            check(cuMemGetInfo(free, total), "cuMemGetInfo");
            return free.get(0);
        }
    }

    @Override
    public ExecutionPlan plan(TaskGraph graph) {
        return new CuPlan(graph);
    }

    private final class CuPlan implements ExecutionPlan {
        private final TaskGraph graph;
        private final List<Params> params = new ArrayList<>();
        private final ByteBuffer[] uploadStaging;
        private final ByteBuffer[] downloadStaging;
        private long graphHandle;
        private long graphExec;
        private boolean graphFailed;
        private long runs;
        private long waitNanos;

        CuPlan(TaskGraph graph) {
            this.graph = graph;
            for (TaskGraph.Task t : graph.tasks()) params.add(new Params(t.launch().kernel(), t.launch().args()));
            uploadStaging = graph.uploads().stream().map(u -> staging(u.host())).toArray(ByteBuffer[]::new);
            downloadStaging = graph.downloads().stream().map(d -> staging(d.host())).toArray(ByteBuffer[]::new);
        }

        private static ByteBuffer staging(Object host) {
            int n = host instanceof int[] a ? a.length : ((float[]) host).length;
            return MemoryUtil.memAlloc(Math.max(4, n * 4)).order(ByteOrder.nativeOrder());
        }

        /** Records the tasks into a CUDA Graph once; falls back to plain launches if capture is refused. */
        private void capture() {
            try (MemoryStack stack = MemoryStack.stackPush()) {
                if (cuStreamBeginCapture(stream) != CUDA_SUCCESS) {
                    graphFailed = true;
                    return;
                }
                List<TaskGraph.Task> tasks = graph.tasks();
                for (int i = 0; i < tasks.size(); i++) launchOn(tasks.get(i).launch(), params.get(i));
                PointerBuffer g = stack.mallocPointer(1);
                if (cuStreamEndCapture(stream, g) != CUDA_SUCCESS) {
                    graphFailed = true;
                    return;
                }
                graphHandle = g.get(0);
                PointerBuffer exec = stack.mallocPointer(1);
                PointerBuffer errNode = stack.mallocPointer(1);
                ByteBuffer log = stack.calloc(1024);
                if (cuGraphInstantiate(exec, graphHandle, errNode, log) != CUDA_SUCCESS) {
                    graphFailed = true;
                    return;
                }
                graphExec = exec.get(0);
            }
        }

        @Override
        public void run() {
            bind();
            List<TaskGraph.Upload> ups = graph.uploads();
            for (int i = 0; i < ups.size(); i++) {
                TaskGraph.Upload u = ups.get(i);
                if (u.mode() == TaskGraph.Mode.FIRST_EXECUTION && runs > 0) continue;
                ByteBuffer b = uploadStaging[i];
                b.clear();
                int n;
                if (u.host() instanceof int[] a) { b.asIntBuffer().put(a); n = a.length; } else { float[] f = (float[]) u.host(); b.asFloatBuffer().put(f); n = f.length; }
                b.limit(n * 4);
                check(cuMemcpyHtoDAsync(((CuBuffer) u.target()).ptr, b, stream), "cuMemcpyHtoDAsync");
            }
            if (graphExec == 0 && !graphFailed) capture();
            if (graphExec != 0) {
                check(cuGraphLaunch(graphExec, stream), "cuGraphLaunch");
            } else {
                List<TaskGraph.Task> tasks = graph.tasks();
                for (int i = 0; i < tasks.size(); i++) launchOn(tasks.get(i).launch(), params.get(i));
            }
            List<TaskGraph.Download> downs = graph.downloads();
            for (int i = 0; i < downs.size(); i++) {
                TaskGraph.Download d = downs.get(i);
                ByteBuffer b = downloadStaging[i];
                b.clear();
                b.limit(d.host() instanceof int[] a ? a.length * 4 : ((float[]) d.host()).length * 4);
                check(cuMemcpyDtoHAsync(b, ((CuBuffer) d.source()).ptr, stream), "cuMemcpyDtoHAsync");
            }
            long w0 = System.nanoTime();
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
            waitNanos += System.nanoTime() - w0;
            for (int i = 0; i < downs.size(); i++) {
                TaskGraph.Download d = downs.get(i);
                ByteBuffer b = downloadStaging[i];
                b.position(0);
                if (d.host() instanceof int[] a) b.asIntBuffer().get(a); else b.asFloatBuffer().get((float[]) d.host());
            }
            runs++;
        }

        @Override public long runs() { return runs; }

        @Override public long deviceWaitNanos() { return waitNanos; }

        @Override
        public String description() {
            return (graphExec != 0 ? "cuda graph, " : "cuda launch list, ") + params.size() + " kernels";
        }

        @Override
        public void close() {
            bind();
            if (graphExec != 0) cuGraphExecDestroy(graphExec);
            if (graphHandle != 0) cuGraphDestroy(graphHandle);
            for (Params p : params) p.close();
            for (ByteBuffer b : uploadStaging) MemoryUtil.memFree(b);
            for (ByteBuffer b : downloadStaging) MemoryUtil.memFree(b);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        bind();
        for (CuModule m : modules) m.close();
        cuStreamDestroy(stream);
        cuCtxDestroy(context);
    }
}
