package dev.owl2j.model.cpu.kernel;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Hands free C-heap memory back to the operating system once a model is loaded (glibc's {@code malloc_trim};
 * nothing where the C library has no such call or native access is denied). The runtime calls it after
 * {@code Owl2Model.load} (this package may not call into the model's package, which imports it).
 *
 * <p>Why: loading frees large scratch blocks (a matrix quantized before its column panels are copied, see
 * ColumnPanels) between allocations of similar size, and glibc keeps the pages of such holes in the
 * process. On the synthetic 7B Q4_0 benchmark that was about 0.2 GiB of peak RSS for nothing.
 */
public final class MallocTrim {
    private MallocTrim() {}

    /** malloc_trim(pad), or null; linked on first use only. */
    private static final class Native {
        static final MethodHandle TRIM = link();
    }

    /** Releases free C-heap pages; returns whether the C library could be asked to. */
    public static boolean releaseFreePages() {
        if (Native.TRIM == null) {
            return false;
        }
        try {
            int ignored = (int) Native.TRIM.invokeExact(0L);
            return true;
        } catch (Throwable t) {
            return false;
        }
    }

    private static MethodHandle link() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("malloc_trim")
                    .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)))
                    .orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null; // native access denied: memory stays as the C library keeps it
        }
    }
}
