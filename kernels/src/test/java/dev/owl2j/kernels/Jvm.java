package dev.owl2j.kernels;

import java.util.IdentityHashMap;
import java.util.Map;

/** The JVM backend's context for tests (always available), with one compiled program per KernelProgram. */
final class Jvm {
    private static ComputeContext ctx;
    private static final Map<KernelProgram, Program> programs = new IdentityHashMap<>();

    private Jvm() {}

    static synchronized ComputeContext context() {
        if (ctx == null) ctx = Devices.get(Api.JAVA, 0).open();
        return ctx;
    }

    static synchronized Program program(KernelProgram p) {
        return programs.computeIfAbsent(p, k -> context().compile(k, ""));
    }
}
