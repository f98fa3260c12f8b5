package dev.owl2j.kernels;

/** One compute device as an API sees it. Opening it creates a context (and on CUDA, a stream). */
public interface Device {
    Api api();

    /** Index among the devices of this API, in {@link Devices#list()} order. */
    int index();

    String name();

    /** Platform or driver description ("Portable Computing Language 5.0", "CUDA 12.4"). */
    String driver();

    /** Global memory in bytes. */
    long memoryBytes();

    /** Compute units (OpenCL) or streaming multiprocessors (CUDA). */
    int computeUnits();

    /** True for a GPU (or accelerator), false for a CPU device such as PoCL's. */
    boolean gpu();

    /** Whether F16 values can be loaded and stored (vload_half / cvt); always true in practice. */
    boolean fp16LoadStore();

    /** Whether half arithmetic is supported natively (cl_khr_fp16 or CUDA sm_53+). Kernels do not need it. */
    boolean fp16Arithmetic();

    /** Sub-group (OpenCL cl_khr_subgroups / cl_intel_subgroups) or warp shuffles (CUDA). */
    boolean subgroups();

    /** Tensor cores (CUDA compute capability 7.0 and up). */
    boolean tensorCores();

    ComputeContext open();

    /** "opencl:0 NVIDIA H200 (GPU, 132 CUs, 140.0 GiB)". */
    default String describe() {
        return String.format("%s:%d %s (%s, %d CUs, %.1f GiB)", api().id(), index(), name(), gpu() ? "GPU" : "CPU",
                computeUnits(), memoryBytes() / (double) (1L << 30));
    }

    /** Feature words for listings: "fp16-load fp16-math subgroups tensor-cores". */
    default String features() {
        StringBuilder sb = new StringBuilder();
        if (fp16LoadStore()) sb.append("fp16-load ");
        if (fp16Arithmetic()) sb.append("fp16-math ");
        if (subgroups()) sb.append("subgroups ");
        if (tensorCores()) sb.append("tensor-cores ");
        return sb.toString().trim();
    }
}
