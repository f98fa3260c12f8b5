package dev.owl2j.kernels;

/** A compiled kernel source. */
public interface Program extends AutoCloseable {
    String name();

    /** True when the binary (OpenCL program binary, CUDA PTX) came from the on-disk cache. */
    boolean fromCache();

    Kernel kernel(String entryPoint);

    @Override
    void close();
}
