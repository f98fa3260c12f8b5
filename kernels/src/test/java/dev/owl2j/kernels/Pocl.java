package dev.owl2j.kernels;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The first OpenCL device (PoCL on CI); tests skip when the machine has none. Kernel cache in a temp dir. */
final class Pocl {
    private static ComputeContext ctx;
    private static Kernels kernels;

    private Pocl() {}

    static synchronized ComputeContext context() {
        if (ctx == null) {
            useTempCache();
            List<Device> ds = Devices.of(Api.OPENCL);
            Assumptions.assumeFalse(ds.isEmpty(), "no OpenCL device (install pocl-opencl-icd)");
            ctx = ds.get(0).open();
        }
        return ctx;
    }

    private static final java.util.Map<KernelProgram, Program> programs = new java.util.IdentityHashMap<>();

    /** A Java kernel program compiled for the OpenCL device (once per test JVM). */
    static synchronized Program program(KernelProgram p) {
        ComputeContext c = context();
        return programs.computeIfAbsent(p, k -> c.compile(k, ""));
    }

    static synchronized Kernels kernels() {
        if (kernels == null) kernels = Kernels.load(context());
        return kernels;
    }

    static void useTempCache() {
        if (System.getProperty("owl2j.kernelCache") == null) {
            try {
                System.setProperty("owl2j.kernelCache", Files.createTempDirectory("owl2j-kcache").toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static Path cacheDir() {
        return Path.of(System.getProperty("owl2j.kernelCache"));
    }
}
