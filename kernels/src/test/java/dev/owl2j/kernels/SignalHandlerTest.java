package dev.owl2j.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * PoCL brings LLVM into the process, and LLVM installs its own SIGSEGV/SIGBUS handlers (SA_RESETHAND). The JVM
 * raises SIGSEGV on purpose (safepoint polls, implicit null checks), so with LLVM's handler in place a test JVM
 * died now and then with a bare "Segmentation fault" after an OpenCL test. The launcher and the test forks
 * preload the JDK's libjsig, which keeps the JVM's handler installed and chains LLVM's behind it. This asks the
 * kernel (the raw rt_sigaction syscall, past libjsig) which handler SIGSEGV has once OpenCL has been used and a
 * fresh kernel has been built and launched, and checks that it lies in libjvm.so.
 */
class SignalHandlerTest {
    private static final int SIGSEGV = 11;
    private static final long SYS_RT_SIGACTION_X86_64 = 13;

    private static long segvHandler() throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle syscall = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment old = arena.allocate(32, 8); // struct kernel_sigaction: handler, flags, restorer, mask
            long rc = (long) syscall.invokeExact(SYS_RT_SIGACTION_X86_64, (long) SIGSEGV, MemorySegment.NULL, old, 8L);
            assertEquals(0L, rc, "rt_sigaction failed");
            return old.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** The mapped library /proc/self/maps shows at this address, or "?" . */
    private static String libraryAt(long address) throws Exception {
        List<String> maps = Files.readAllLines(Path.of("/proc/self/maps"));
        for (String line : maps) {
            String[] f = line.trim().split("\\s+");
            String[] range = f[0].split("-");
            long from = Long.parseUnsignedLong(range[0], 16);
            long to = Long.parseUnsignedLong(range[1], 16);
            if (Long.compareUnsigned(address, from) >= 0 && Long.compareUnsigned(address, to) < 0) {
                return f.length > 5 ? f[5] : "(anonymous)";
            }
        }
        return "?";
    }

    @Test
    void theJvmKeepsItsSegvHandlerAfterOpenClKernelsRun() throws Throwable {
        assumeTrue(System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64"),
                "the raw syscall is written for Linux x86-64");
        ComputeContext ctx = Pocl.context();
        // a source no cache has seen, so the driver really compiles it, then launched once
        String src = "__kernel void k(__global float* a) { a[get_global_id(0)] *= " + System.nanoTime() % 1000 + ".5f; }";
        try (Program p = ctx.compile("signal-test", src, ""); Buffer a = ctx.upload(new float[]{2})) {
            ctx.launch(new Launch(p.kernel("k"), new long[]{1}, new long[]{1}, new Object[]{a}));
            ctx.finish();
        }
        String owner = libraryAt(segvHandler());
        assertTrue(owner.endsWith("/libjvm.so"), "SIGSEGV is handled by " + owner + ", not the JVM: preload the JDK's"
                + " lib/libjsig.so (LD_PRELOAD), as ./owl2j and the test forks do");
    }
}
