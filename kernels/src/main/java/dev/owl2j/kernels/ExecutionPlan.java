package dev.owl2j.kernels;

/** A task graph prepared for one device, replayed once per step with small host overhead. */
public interface ExecutionPlan extends AutoCloseable {
    /** Uploads the per-run inputs, runs every task in order, downloads the outputs and waits. */
    void run();

    /** How many times {@link #run()} completed. */
    long runs();

    /** "opencl enqueue list, 12 tasks" or "cuda graph, 12 kernels". */
    String description();

    @Override
    void close();
}
