package dev.owl2j.kernels.opencl;

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
import dev.owl2j.kernels.compiler.target.OpenClTarget;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.owl2j.kernels.opencl.ClDevice.check;
import static org.lwjgl.opencl.CL10.*;
import static org.lwjgl.opencl.CL12.clEnqueueFillBuffer;

/** OpenCL context + one in-order command queue. */
final class ClContext implements ComputeContext {
    private final ClDevice device;
    private final long context;
    private final long queue;
    private final KernelCache cache = KernelCache.standard();
    private final List<ClProgram> programs = new ArrayList<>();
    private long allocated;
    private boolean closed;

    ClContext(ClDevice device) {
        this.device = device;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            PointerBuffer props = stack.mallocPointer(3).put(CL_CONTEXT_PLATFORM).put(device.platform).put(0).flip();
            context = clCreateContext(props, device.id, null, 0, err);
            check(err.get(0), "clCreateContext");
            queue = clCreateCommandQueue(context, device.id, 0, err);
            check(err.get(0), "clCreateCommandQueue");
        }
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public KernelCache cache() {
        return cache;
    }

    @Override
    public Buffer allocate(long bytes) {
        long size = Math.max(4, (bytes + 3) & ~3L); // fill patterns are 4 bytes
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long mem = clCreateBuffer(context, CL_MEM_READ_WRITE, size, err);
            if (err.get(0) == CL_MEM_OBJECT_ALLOCATION_FAILURE || err.get(0) == CL_OUT_OF_RESOURCES
                    || err.get(0) == CL_INVALID_BUFFER_SIZE) {
                throw new DeviceException(String.format("cannot allocate %.1f MiB on %s (OpenCL error %d)",
                        size / 1048576.0, device.name(), err.get(0)));
            }
            check(err.get(0), "clCreateBuffer");
            ByteBuffer zero = stack.calloc(4);
            check(clEnqueueFillBuffer(queue, mem, zero, 0, size, null, null), "clEnqueueFillBuffer");
            allocated += size;
            return new ClBuffer(mem, bytes, size);
        }
    }

    final class ClBuffer implements Buffer {
        final long mem;
        private final long bytes;
        private final long size;
        private boolean released;

        ClBuffer(long mem, long bytes, long size) {
            this.mem = mem;
            this.bytes = bytes;
            this.size = size;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public void write(long byteOffset, ByteBuffer src) {
            range(byteOffset, src.remaining());
            check(clEnqueueWriteBuffer(queue, mem, true, byteOffset, src, null, null), "clEnqueueWriteBuffer");
        }

        @Override
        public void read(long byteOffset, ByteBuffer dst) {
            range(byteOffset, dst.remaining());
            check(clEnqueueReadBuffer(queue, mem, true, byteOffset, dst, null, null), "clEnqueueReadBuffer");
        }

        private void range(long off, long n) {
            if (off < 0 || off + n > size) {
                throw new DeviceException("buffer access [" + off + ", " + (off + n) + ") outside a buffer of " + bytes + " bytes");
            }
        }

        @Override
        public void close() {
            if (!released) {
                released = true;
                allocated -= size;
                clReleaseMemObject(mem);
            }
        }
    }

    @Override
    public Program compile(String name, String source, String options) {
        String key = KernelCache.key("opencl", device.name(), device.driver(), options, source);
        byte[] binary = cache.get(key, "clbin");
        if (binary != null) {
            long program = fromBinary(binary, options);
            if (program != 0) {
                ClProgram p = new ClProgram(name, program, true);
                programs.add(p);
                return p;
            }
        }
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long program = clCreateProgramWithSource(context, source, err);
            check(err.get(0), "clCreateProgramWithSource");
            int rc = clBuildProgram(program, device.id, options, null, 0);
            if (rc != CL_SUCCESS) {
                String log = buildLog(program);
                clReleaseProgram(program);
                throw new KernelBuildException(name, device.name(), log.isBlank() ? "OpenCL error " + rc : log);
            }
            byte[] bin = binaryOf(program);
            if (bin != null) cache.put(key, "clbin", bin);
            ClProgram p = new ClProgram(name, program, false);
            programs.add(p);
            return p;
        }
    }

    @Override
    public Program compile(KernelProgram program, String options) {
        KernelProgram.Compiled c = program.compiled(new OpenClTarget());
        ClProgram p = (ClProgram) compile(program.name(), c.source(), options);
        p.signatures = c.kernels();
        return p;
    }

    /** A program from a cached binary, or 0 when the driver rejects it (then the source is compiled again). */
    private long fromBinary(byte[] binary, String options) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            ByteBuffer bin = MemoryUtil.memAlloc(binary.length);
            try {
                bin.put(binary).flip();
                IntBuffer status = stack.mallocInt(1);
                IntBuffer err = stack.mallocInt(1);
                long program = clCreateProgramWithBinary(context, stack.pointers(device.id), bin, status, err);
                if (err.get(0) != CL_SUCCESS || status.get(0) != CL_SUCCESS) return 0;
                if (clBuildProgram(program, device.id, options, null, 0) != CL_SUCCESS) {
                    clReleaseProgram(program);
                    return 0;
                }
                return program;
            } finally {
                MemoryUtil.memFree(bin);
            }
        }
    }

    private static byte[] binaryOf(long program) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer sizes = stack.mallocPointer(1);
            if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizes, null) != CL_SUCCESS || sizes.get(0) == 0) return null;
            ByteBuffer bin = MemoryUtil.memAlloc((int) sizes.get(0));
            try {
                PointerBuffer ptrs = stack.pointers(bin);
                if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, ptrs, null) != CL_SUCCESS) return null;
                byte[] out = new byte[bin.remaining()];
                bin.get(out);
                return out;
            } finally {
                MemoryUtil.memFree(bin);
            }
        }
    }

    private String buildLog(long program) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            if (clGetProgramBuildInfo(program, device.id, CL_PROGRAM_BUILD_LOG, (ByteBuffer) null, size) != CL_SUCCESS) return "";
            ByteBuffer b = MemoryUtil.memAlloc((int) Math.max(1, size.get(0)));
            try {
                clGetProgramBuildInfo(program, device.id, CL_PROGRAM_BUILD_LOG, b, null);
                return MemoryUtil.memUTF8(b, Math.max(0, b.remaining() - 1)).trim();
            } finally {
                MemoryUtil.memFree(b);
            }
        }
    }

    final class ClProgram implements Program {
        final long program;
        private final String name;
        private final boolean cached;
        private final Map<String, ClKernel> kernels = new HashMap<>();
        /** For programs compiled from Java: the kernels by Java method name. */
        Map<String, KernelSignature> signatures;

        ClProgram(String name, long program, boolean cached) {
            this.name = name;
            this.program = program;
            this.cached = cached;
        }

        @Override public String name() { return name; }
        @Override public boolean fromCache() { return cached; }

        @Override
        public Kernel kernel(String entryPoint) {
            return kernels.computeIfAbsent(entryPoint, e -> {
                if (signatures == null) return new ClKernel(this, e, e, createKernel(e), null);
                KernelSignature sig = signatures.get(e);
                if (sig == null) throw new DeviceException("kernel program '" + name + "' has no kernel " + e);
                return new ClKernel(this, e, sig.deviceName(), createKernel(sig.deviceName()), sig);
            });
        }

        long createKernel(String entryPoint) {
            try (MemoryStack stack = MemoryStack.stackPush()) {
                IntBuffer err = stack.mallocInt(1);
                long k = clCreateKernel(program, entryPoint, err);
                if (err.get(0) == CL_INVALID_KERNEL_NAME) {
                    throw new DeviceException("kernel program '" + name + "' has no kernel " + entryPoint);
                }
                check(err.get(0), "clCreateKernel " + entryPoint);
                return k;
            }
        }

        private boolean released;

        @Override
        public void close() {
            if (released) return;
            released = true;
            for (ClKernel k : kernels.values()) clReleaseKernel(k.handle());
            kernels.clear();
            clReleaseProgram(program);
        }
    }

    record ClKernel(ClProgram program, String name, String deviceName, long handle, KernelSignature signature) implements Kernel {}

    private static void setArgs(long kernel, ClKernel k, Object[] javaArgs) {
        String name = k.name();
        Object[] args = k.signature() == null ? javaArgs : k.signature().deviceArgs(javaArgs);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                int rc;
                if (a instanceof Integer v) {
                    rc = clSetKernelArg(kernel, i, stack.ints(v));
                } else if (a instanceof Float v) {
                    rc = clSetKernelArg(kernel, i, stack.floats(v));
                } else if (a instanceof Long v) {
                    rc = clSetKernelArg(kernel, i, stack.longs(v));
                } else if (a instanceof Double v) {
                    rc = clSetKernelArg(kernel, i, stack.doubles(v));
                } else {
                    ClBuffer b = (ClBuffer) Launch.bufferOf(a);
                    rc = clSetKernelArg(kernel, i, stack.pointers(b.mem));
                }
                if (rc != CL_SUCCESS) {
                    throw new DeviceException("setting argument " + i + " of kernel " + name + " failed with OpenCL error " + rc);
                }
            }
        }
    }

    private void enqueue(long kernel, String name, Launch l) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer g = stack.mallocPointer(l.global().length);
            PointerBuffer lo = stack.mallocPointer(l.local().length);
            for (int d = 0; d < l.global().length; d++) {
                g.put(d, l.global()[d]);
                lo.put(d, l.local()[d]);
            }
            int rc = clEnqueueNDRangeKernel(queue, kernel, l.global().length, null, g, lo, null, null);
            if (rc != CL_SUCCESS) throw new DeviceException("launching kernel " + name + " failed with OpenCL error " + rc);
        }
    }

    @Override
    public void launch(Launch l) {
        ClKernel k = (ClKernel) l.kernel();
        // The in-order queue captures argument values at enqueue time, so one kernel object serves all launches.
        setArgs(k.handle(), k, l.args());
        enqueue(k.handle(), k.name(), l);
    }

    @Override
    public void finish() {
        check(clFinish(queue), "clFinish");
    }

    @Override
    public long freeMemory() {
        return device.memoryBytes() - allocated;
    }

    @Override
    public ExecutionPlan plan(TaskGraph graph) {
        return new ClPlan(graph);
    }

    /**
     * The OpenCL plan: one kernel object per task with its arguments set once at build time, so a run is only
     * the small uploads, one clEnqueueNDRangeKernel per task, the downloads and one clFinish.
     */
    private final class ClPlan implements ExecutionPlan {
        private final TaskGraph graph;
        private final long[] kernels;
        private final ByteBuffer[] uploadStaging;
        private final ByteBuffer[] downloadStaging;
        private long runs;
        private long waitNanos;

        ClPlan(TaskGraph graph) {
            this.graph = graph;
            List<TaskGraph.Task> tasks = graph.tasks();
            kernels = new long[tasks.size()];
            for (int i = 0; i < tasks.size(); i++) {
                ClKernel k = (ClKernel) tasks.get(i).launch().kernel();
                kernels[i] = k.program().createKernel(k.deviceName());
                setArgs(kernels[i], k, tasks.get(i).launch().args());
            }
            uploadStaging = graph.uploads().stream().map(u -> staging(u.host())).toArray(ByteBuffer[]::new);
            downloadStaging = graph.downloads().stream().map(d -> staging(d.host())).toArray(ByteBuffer[]::new);
        }

        private static ByteBuffer staging(Object host) {
            int n = host instanceof int[] a ? a.length : ((float[]) host).length;
            return MemoryUtil.memAlloc(Math.max(4, n * 4)).order(ByteOrder.nativeOrder());
        }

        @Override
        public void run() {
            List<TaskGraph.Upload> ups = graph.uploads();
            for (int i = 0; i < ups.size(); i++) {
                TaskGraph.Upload u = ups.get(i);
                if (u.mode() == TaskGraph.Mode.FIRST_EXECUTION && runs > 0) continue;
                ByteBuffer b = uploadStaging[i];
                b.clear();
                if (u.host() instanceof int[] a) b.asIntBuffer().put(a); else b.asFloatBuffer().put((float[]) u.host());
                b.limit(u.host() instanceof int[] a ? a.length * 4 : ((float[]) u.host()).length * 4);
                check(clEnqueueWriteBuffer(queue, ((ClBuffer) u.target()).mem, false, 0, b, null, null), "clEnqueueWriteBuffer");
            }
            List<TaskGraph.Task> tasks = graph.tasks();
            for (int i = 0; i < kernels.length; i++) {
                enqueue(kernels[i], tasks.get(i).name(), tasks.get(i).launch());
            }
            List<TaskGraph.Download> downs = graph.downloads();
            for (int i = 0; i < downs.size(); i++) {
                TaskGraph.Download d = downs.get(i);
                ByteBuffer b = downloadStaging[i];
                b.clear();
                b.limit(d.host() instanceof int[] a ? a.length * 4 : ((float[]) d.host()).length * 4);
                check(clEnqueueReadBuffer(queue, ((ClBuffer) d.source()).mem, false, 0, b, null, null), "clEnqueueReadBuffer");
            }
            long w0 = System.nanoTime();
            finish();
            waitNanos += System.nanoTime() - w0;
            for (int i = 0; i < downs.size(); i++) {
                TaskGraph.Download d = downs.get(i);
                ByteBuffer b = downloadStaging[i];
                b.position(0);
                if (d.host() instanceof int[] a) b.asIntBuffer().get(a); else b.asFloatBuffer().get((float[]) d.host());
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

        @Override
        public String description() {
            return "opencl enqueue list, " + kernels.length + " tasks";
        }

        @Override
        public void close() {
            for (long k : kernels) clReleaseKernel(k);
            for (ByteBuffer b : uploadStaging) MemoryUtil.memFree(b);
            for (ByteBuffer b : downloadStaging) MemoryUtil.memFree(b);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (ClProgram p : programs) p.close();
        clReleaseCommandQueue(queue);
        clReleaseContext(context);
    }
}
