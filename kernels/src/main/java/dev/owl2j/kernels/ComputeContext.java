package dev.owl2j.kernels;

/**
 * An open device: allocates buffers, compiles kernel sources (through the on-disk {@link KernelCache}),
 * launches kernels in order on one queue/stream, and turns a {@link TaskGraph} into a replayable
 * {@link ExecutionPlan}. Not thread-safe.
 */
public interface ComputeContext extends AutoCloseable {
    Device device();

    /** A zero-filled buffer of this many bytes (at least 1). */
    Buffer allocate(long bytes);

    default Buffer upload(float[] data) {
        Buffer b = allocate(data.length * 4L);
        b.write(data, 0);
        return b;
    }

    default Buffer upload(int[] data) {
        Buffer b = allocate(data.length * 4L);
        b.write(data, 0);
        return b;
    }

    /**
     * Compiles source (OpenCL C, or CUDA C++ when the context is CUDA; see {@link KernelSources}) with the
     * given compiler options, or loads the cached binary. Throws {@link KernelBuildException} with the log.
     */
    Program compile(String name, String source, String options);

    /**
     * Compiles kernels written in Java for this device: emitted as the device's language from their bytecode
     * (then like {@link #compile(String, String, String)}, through the kernel cache), or run as Java on the JVM
     * backend. {@link Program#kernel} takes the Java method names. Throws
     * {@link dev.owl2j.kernels.compiler.KernelCompileException} when a kernel uses something the language does
     * not allow, {@link KernelBuildException} when the device compiler rejects the emitted source.
     */
    default Program compile(KernelProgram program, String options) {
        throw new DeviceException(device().api().id() + " cannot compile kernels written in Java yet (program '" + program.name() + "')");
    }

    /** Enqueues one launch (asynchronous; ordered with all other work of this context). */
    void launch(Launch launch);

    /** Waits for all enqueued work. */
    void finish();

    /** Free device memory in bytes as the driver reports it (CUDA), or memory minus what this context allocated (OpenCL). */
    long freeMemory();

    /**
     * The largest buffer one launch can bind: Vulkan's maxStorageBufferRange (128 MiB on lavapipe and some mobile
     * drivers); the other APIs bind any buffer they can allocate.
     */
    default long maxBindingBytes() {
        return Long.MAX_VALUE;
    }

    /** Builds the plan of a task graph once; replay it with {@link ExecutionPlan#run()}. */
    ExecutionPlan plan(TaskGraph graph);

    KernelCache cache();

    @Override
    void close();
}
