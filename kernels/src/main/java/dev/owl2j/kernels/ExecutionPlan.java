package dev.owl2j.kernels;

/** A task graph prepared for one device, replayed once per step with small host overhead. */
public interface ExecutionPlan extends AutoCloseable {
    /** Uploads the per-run inputs, runs every task in order, downloads the outputs and waits. */
    void run();

    /** How many times {@link #run()} completed. */
    long runs();

    /**
     * Nanoseconds {@link #run()} has spent blocked waiting for the device (clFinish / cuStreamSynchronize), over
     * all runs. A run's wall time minus this is host work: uploads, enqueues, copies of the outputs.
     */
    long deviceWaitNanos();

    /** "opencl enqueue list, 12 tasks" or "cuda graph, 12 kernels". */
    String description();

    @Override
    void close();
}
