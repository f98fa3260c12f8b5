package dev.owl2j.kernels.jvm;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.ExecutionPlan;
import dev.owl2j.kernels.Kernel;
import dev.owl2j.kernels.KernelCache;
import dev.owl2j.kernels.KernelProgram;
import dev.owl2j.kernels.KernelSignature;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.Program;
import dev.owl2j.kernels.TaskGraph;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.IrWalk;
import dev.owl2j.kernels.lang.ByteArray;
import dev.owl2j.kernels.lang.DoubleArray;
import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.IntArray;
import dev.owl2j.kernels.lang.KernelContext;
import dev.owl2j.kernels.lang.LongArray;
import dev.owl2j.kernels.lang.ShortArray;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Phaser;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs Java kernels as Java. Each launch runs synchronously: the work groups are spread over the machine's
 * cores; inside a group, a kernel without barriers runs its work-items one after another (the kernel method
 * itself, once per work-item). A kernel with barriers runs, by default, as work-item loops generated from its IR
 * (GroupCompiler: between two barriers, one loop over the group's work-items; same operations, same results,
 * no threads); with the compile option {@code threads} (or -Dowl2j.jvmThreads=true) every work-item runs the
 * kernel method on its own virtual thread and the barrier really waits for the whole group (a work-item that
 * returns early leaves the group's barriers, as on GPUs), slower but a kernel can be stepped through in a Java
 * debugger. An exception in a work-item (an index outside an array, say) stops the launch and names the kernel
 * and the work-item.
 */
final class JvmContext implements ComputeContext {
    private final JvmDevice device;
    private final KernelCache cache = KernelCache.standard();
    private long allocated;
    private boolean closed;

    JvmContext(JvmDevice device) {
        this.device = device;
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
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = arena.allocate(Math.max(1, bytes), 16);
            allocated += bytes;
            return new JvmBuffer(arena, seg.asSlice(0, bytes), bytes);
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new DeviceException(String.format("cannot allocate %.1f MiB of off-heap memory for the java backend", bytes / 1048576.0));
        }
    }

    final class JvmBuffer implements Buffer {
        private final Arena arena;
        final MemorySegment segment;
        private final long bytes;
        private boolean freed;

        JvmBuffer(Arena arena, MemorySegment segment, long bytes) {
            this.arena = arena;
            this.segment = segment;
            this.bytes = bytes;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public void write(long byteOffset, ByteBuffer src) {
            range(byteOffset, src.remaining());
            MemorySegment.copy(MemorySegment.ofBuffer(src), 0, segment, byteOffset, src.remaining());
        }

        @Override
        public void read(long byteOffset, ByteBuffer dst) {
            range(byteOffset, dst.remaining());
            MemorySegment.copy(segment, byteOffset, MemorySegment.ofBuffer(dst), 0, dst.remaining());
        }

        private void range(long off, long n) {
            if (off < 0 || off + n > bytes) {
                throw new DeviceException("buffer access [" + off + ", " + (off + n) + ") outside a buffer of " + bytes + " bytes");
            }
        }

        @Override
        public void close() {
            if (!freed) {
                freed = true;
                allocated -= bytes;
                arena.close();
            }
        }
    }

    @Override
    public Program compile(String name, String source, String options) {
        throw new DeviceException("the java backend runs kernels written in Java (a KernelProgram); it cannot compile the C source '" + name + "'");
    }

    /** Options: "threads" runs kernels with barriers on work-item threads instead of generated work-item loops. */
    @Override
    public Program compile(KernelProgram program, String options) {
        KernelProgram.Compiled c = program.compiled(new JvmTarget());
        boolean threads = java.util.Arrays.asList(options.trim().split("\\s+")).contains("threads")
                || Boolean.getBoolean("owl2j.jvmThreads");
        return new JvmProgram(program, c, threads);
    }

    static final class JvmProgram implements Program {
        private final KernelProgram program;
        private final KernelProgram.Compiled compiled;
        private final Map<String, JvmKernel> kernels = new HashMap<>();
        private final boolean threads;

        JvmProgram(KernelProgram program, KernelProgram.Compiled compiled, boolean threads) {
            this.program = program;
            this.compiled = compiled;
            this.threads = threads;
        }

        @Override
        public String name() {
            return program.name();
        }

        @Override
        public boolean fromCache() {
            return false;
        }

        @Override
        public synchronized Kernel kernel(String entryPoint) {
            return kernels.computeIfAbsent(entryPoint, e -> {
                KernelSignature sig = compiled.kernels().get(e);
                if (sig == null) throw new DeviceException("kernel program '" + program.name() + "' has no kernel " + e);
                Function f = compiled.module().kernel(e);
                boolean barriers = IrWalk.hasBarrier(f.body());
                MethodHandle loops = barriers && !threads ? GroupCompiler.compile(f) : null;
                return new JvmKernel(this, sig, program.method(e), barriers, loops);
            });
        }

        @Override
        public void close() {
        }
    }

    /** A kernel method ready to call: its handle takes the arguments as one Object[] (context included). */
    static final class JvmKernel implements Kernel {
        private final JvmProgram program;
        private final KernelSignature signature;
        final MethodHandle handle;
        final int contextIndex;
        final int arity;
        final boolean barriers;
        /** The generated work-group method (GroupCompiler), or null: run the kernel method per work-item. */
        final MethodHandle groupLoops;

        JvmKernel(JvmProgram program, KernelSignature signature, Method method, boolean barriers, MethodHandle groupLoops) {
            this.program = program;
            this.signature = signature;
            this.barriers = barriers;
            this.groupLoops = groupLoops;
            this.arity = method.getParameterCount();
            this.contextIndex = java.util.Arrays.asList(method.getParameterTypes()).indexOf(KernelContext.class);
            try {
                method.setAccessible(true);
                this.handle = MethodHandles.lookup().unreflect(method).asSpreader(Object[].class, arity);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new DeviceException("kernel " + signature.name() + " cannot be called: " + e.getMessage());
            }
        }

        @Override
        public String name() {
            return signature.name();
        }

        @Override
        public Program program() {
            return program;
        }

        @Override
        public KernelSignature signature() {
            return signature;
        }
    }

    @Override
    public void launch(Launch l) {
        run((JvmKernel) l.kernel(), l);
    }

    /** The Java arguments of a launch: buffers as array views of their memory, scalars as they are. */
    private static Object[] javaArgs(JvmKernel k, Object[] args) {
        Object[] out = new Object[k.arity];
        int j = 0;
        for (int i = 0; i < k.arity; i++) {
            if (i == k.contextIndex) continue;
            KernelSignature.Param p = k.signature().params().get(j);
            Object a = args[j++];
            if (p.kind() == KernelSignature.Kind.ARRAY) {
                MemorySegment seg = ((JvmBuffer) Launch.bufferOf(a)).segment;
                MemorySegment whole = seg.asSlice(0, seg.byteSize() - seg.byteSize() % p.elementBytes());
                a = switch (p.type()) {
                    case "FloatArray" -> FloatArray.wrap(whole);
                    case "IntArray" -> IntArray.wrap(whole);
                    case "ShortArray" -> ShortArray.wrap(whole);
                    case "ByteArray" -> ByteArray.wrap(whole);
                    case "DoubleArray" -> DoubleArray.wrap(whole);
                    default -> LongArray.wrap(whole);
                };
            }
            out[i] = a;
        }
        return out;
    }

    private static void run(JvmKernel k, Launch l) {
        Object[] template = javaArgs(k, l.args());
        Object[] deviceArgs = new Object[template.length - (k.contextIndex >= 0 ? 1 : 0)];
        for (int i = 0, j = 0; i < template.length; i++) if (i != k.contextIndex) deviceArgs[j++] = template[i];
        int dims = l.global().length;
        int[] size = {1, 1, 1}, groups = {1, 1, 1};
        for (int d = 0; d < dims; d++) {
            size[d] = Math.toIntExact(l.local()[d]);
            groups[d] = Math.toIntExact(l.global()[d] / l.local()[d]);
        }
        long total = (long) groups[0] * groups[1] * groups[2];
        int workers = (int) Math.min(total, Runtime.getRuntime().availableProcessors());
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> {
            for (long g = next.getAndIncrement(); g < total && failure.get() == null; g = next.getAndIncrement()) {
                int[] gid = {(int) (g % groups[0]), (int) (g / groups[0] % groups[1]), (int) (g / groups[0] / groups[1])};
                Throwable t = k.groupLoops != null ? loopedGroup(k, deviceArgs, size, gid, groups)
                        : k.barriers ? threadedGroup(k, template, size, gid, groups) : sequentialGroup(k, template, size, gid, groups);
                if (t != null) failure.compareAndSet(null, t);
            }
        };
        if (workers <= 1) {
            worker.run();
        } else {
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < workers; w++) threads.add(Thread.ofPlatform().daemon().name("owl2j-jvm-kernel-" + w).start(worker));
            for (Thread t : threads) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DeviceException("interrupted while running kernel " + k.name());
                }
            }
        }
        Throwable t = failure.get();
        if (t instanceof WorkItemFailure f) {
            throw new DeviceException("kernel " + k.name() + " failed on the java backend at " + f.where + ": " + f.getCause(), f.getCause());
        }
        if (t instanceof DeviceException d) throw d;
        if (t != null) throw new DeviceException("kernel " + k.name() + " failed on the java backend: " + t, t);
    }

    /** A work-item's exception with its position. */
    private static final class WorkItemFailure extends RuntimeException {
        final String where;

        WorkItemFailure(String where, Throwable cause) {
            super(cause);
            this.where = where;
        }
    }

    private static String where(int[] local, int[] group) {
        return "work-item (" + local[0] + ", " + local[1] + ", " + local[2] + ") of group (" + group[0] + ", " + group[1] + ", " + group[2] + ")";
    }

    private static void call(JvmKernel k, Object[] template, KernelContext ctx) throws Throwable {
        Object[] args = template.clone();
        if (k.contextIndex >= 0) args[k.contextIndex] = ctx;
        k.handle.invokeExact(args);
    }

    private static Throwable sequentialGroup(JvmKernel k, Object[] template, int[] size, int[] gid, int[] groups) {
        WorkItemContext.Group group = new WorkItemContext.Group(null);
        for (int z = 0; z < size[2]; z++) {
            for (int y = 0; y < size[1]; y++) {
                for (int x = 0; x < size[0]; x++) {
                    int[] local = {x, y, z};
                    try {
                        call(k, template, new WorkItemContext(local, size, gid, groups, group));
                    } catch (Throwable t) {
                        return new WorkItemFailure(where(local, gid), t);
                    }
                }
            }
        }
        return null;
    }

    private static Throwable loopedGroup(JvmKernel k, Object[] args, int[] size, int[] gid, int[] groups) {
        try {
            k.groupLoops.invokeExact(args, gid[0], gid[1], gid[2], size[0], size[1], size[2], groups[0], groups[1], groups[2]);
            return null;
        } catch (DeviceException e) {
            return e;
        } catch (Throwable t) {
            return new WorkItemFailure("a work-item of group (" + gid[0] + ", " + gid[1] + ", " + gid[2] + ")", t);
        }
    }

    private static Throwable threadedGroup(JvmKernel k, Object[] template, int[] size, int[] gid, int[] groups) {
        int n = size[0] * size[1] * size[2];
        Phaser phaser = new Phaser(n);
        WorkItemContext.Group group = new WorkItemContext.Group(phaser);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] threads = new Thread[n];
        for (int i = 0; i < n; i++) {
            int[] local = {i % size[0], i / size[0] % size[1], i / size[0] / size[1]};
            WorkItemContext ctx = new WorkItemContext(local, size, gid, groups, group);
            threads[i] = Thread.ofVirtual().unstarted(() -> {
                try {
                    call(k, template, ctx);
                } catch (WorkItemContext.GroupAborted aborted) {
                    // another work-item failed
                } catch (Throwable t) {
                    failure.compareAndSet(null, new WorkItemFailure(where(local, gid), t));
                    phaser.forceTermination();
                } finally {
                    phaser.arriveAndDeregister();
                }
            });
        }
        for (Thread t : threads) t.start();
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                phaser.forceTermination();
                return e;
            }
        }
        return failure.get();
    }

    @Override
    public void finish() {
    }

    @Override
    public long freeMemory() {
        return device.memoryBytes() - allocated;
    }

    @Override
    public ExecutionPlan plan(TaskGraph graph) {
        return new JvmPlan(graph);
    }

    /** Replays the graph: uploads, each task's launch in order, downloads. */
    private final class JvmPlan implements ExecutionPlan {
        private final TaskGraph graph;
        private long runs;
        private long kernelNanos;

        JvmPlan(TaskGraph graph) {
            this.graph = graph;
        }

        @Override
        public void run() {
            for (TaskGraph.Upload u : graph.uploads()) {
                if (u.mode() == TaskGraph.Mode.FIRST_EXECUTION && runs > 0) continue;
                if (u.host() instanceof int[] a) u.target().write(a, 0);
                else u.target().write((float[]) u.host(), 0);
            }
            long t0 = System.nanoTime();
            for (TaskGraph.Task t : graph.tasks()) launch(t.launch());
            kernelNanos += System.nanoTime() - t0;
            for (TaskGraph.Download d : graph.downloads()) {
                if (d.host() instanceof int[] a) System.arraycopy(d.source().readInts(0, a.length), 0, a, 0, a.length);
                else {
                    float[] f = (float[]) d.host();
                    System.arraycopy(d.source().readFloats(0, f.length), 0, f, 0, f.length);
                }
            }
            runs++;
        }

        @Override
        public long runs() {
            return runs;
        }

        /** On the JVM the kernels run in the calling thread: this is the time spent in them. */
        @Override
        public long deviceWaitNanos() {
            return kernelNanos;
        }

        @Override
        public String description() {
            return "java launch list, " + graph.tasks().size() + " tasks";
        }

        @Override
        public void close() {
        }
    }

    @Override
    public void close() {
        closed = true;
    }
}
