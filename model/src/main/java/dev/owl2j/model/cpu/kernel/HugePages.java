package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.Settings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Off-heap memory for what the CPU kernels stream on every token (repacked weight tiles and panels, the KV cache),
 * backed by 2 MiB transparent huge pages where Linux lends them.
 *
 * <p>Why: a decode step streams the whole decoder (3.9 GB for the 7B in Q4_0) once per token. With 4 KiB pages
 * that is about a million page-table walks per token. On a 2-vCPU EPYC VM decode ran 6.41-6.84 tok/s without this
 * class against 7.70-7.94 with it, in alternated runs (docs/performance-log.md, Huge pages for the weight tiles).
 * Linux's default policy ({@code /sys/kernel/mm/transparent_hugepage/enabled} = {@code madvise}) gives huge pages
 * only to memory that asks for them, and the JDK's {@link Arena#allocate} neither asks nor can (it also zeroes the
 * memory at once, so asking afterwards would be too late: pages are chosen when first touched). So this class maps
 * anonymous memory itself, aligns it to 2 MiB and asks with {@code madvise(MADV_HUGEPAGE)} before anything touches
 * it. Only whole 2 MiB pages are asked for; the tail of an allocation keeps small pages, so no allocation takes
 * more resident memory than its size rounded to 4 KiB.
 *
 * <p>The KV caches, allocated for every session and grown as it goes, gain most at first touch: on that VM every
 * 4 KiB page fault cost about 15 µs, so the 134 MB cache of a 128-position prefill took 505-538 ms to allocate in
 * small pages against 10-16 ms in huge pages (230-330 ms when the kernel first had to compact memory for them),
 * and decode attention reads each cached row in per-head pieces, which huge pages keep within the TLB.
 *
 * <p>These are three calls into the C library through the FFM API (no native code of ours). Anywhere they do not
 * apply (not Linux on x86-64 or AArch64, native access denied, {@code mmap} failing, {@code owl2j.hugePages=false},
 * or under 2 MiB) the memory comes from {@link Arena#allocate} as before: same contents (zero), same lifetime.
 */
public final class HugePages {
    /** The huge page size Linux uses on x86-64 and AArch64 (with 4 KiB base pages). */
    static final long HUGE = 2L << 20;

    private static final boolean ENABLED = Settings.fromSystem().hugePages();

    // Linux's values on x86-64 and AArch64 (asm-generic/mman-common.h)
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000,
            MADV_HUGEPAGE = 14;

    private HugePages() {}

    /** mmap, madvise and munmap of the C library, or null where they are not used; linked on first use only. */
    private static final class Native {
        static final MethodHandle MMAP, MADVISE, MUNMAP;

        static {
            MethodHandle mmap = null, madvise = null, munmap = null;
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (os.startsWith("linux") && (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
                try {
                    Linker linker = Linker.nativeLinker();
                    SymbolLookup libc = linker.defaultLookup();
                    ValueLayout sizeT = ValueLayout.JAVA_LONG;
                    mmap = libc.find("mmap").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.ADDRESS,
                            ValueLayout.ADDRESS, sizeT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_LONG))).orElse(null);
                    madvise = libc.find("madvise").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, sizeT, ValueLayout.JAVA_INT))).orElse(null);
                    munmap = libc.find("munmap").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, sizeT))).orElse(null);
                } catch (RuntimeException | LinkageError e) {
                    mmap = null; // native access denied: Arena.allocate instead
                }
            }
            boolean all = mmap != null && madvise != null && munmap != null;
            MMAP = all ? mmap : null;
            MADVISE = all ? madvise : null;
            MUNMAP = all ? munmap : null;
        }
    }

    /**
     * {@code bytes} of zeroed memory, 64-byte aligned at least, that lives as long as {@code arena} (freed when it
     * is closed, or when the segment becomes unreachable for an automatic arena), in huge pages where possible.
     */
    public static MemorySegment allocate(long bytes, Arena arena) {
        if (ENABLED && bytes >= HUGE && Native.MMAP != null) {
            MemorySegment s = map(bytes, arena, true, 0);
            if (s != null) {
                return s;
            }
        }
        return arena.allocate(bytes, 64);
    }

    /**
     * {@code bytes} of address space that takes memory only where it is written, page by page (huge pages where
     * {@link #allocate} would use them), reading as zero until then; it lives as long as {@code arena}. Null where
     * {@code mmap} is not used (see the class comment): the caller then allocates only what it needs. It is mapped
     * with {@code MAP_NORESERVE}, so a large reservation of which little is written does not count against the
     * system's commit limit; writing to it when the system has no memory left is fatal, as for any touched page.
     */
    public static MemorySegment reserve(long bytes, Arena arena) {
        return Native.MMAP == null ? null : map(bytes, arena, ENABLED && bytes >= HUGE, MAP_NORESERVE);
    }

    /** Whether {@link #allocate} asks for huge pages in this process (for the benchmark's report). */
    public static boolean used() {
        return ENABLED && Native.MMAP != null;
    }

    /** An anonymous mapping of bytes starting on a 2 MiB boundary, its whole huge pages madvised when huge is set. */
    private static MemorySegment map(long bytes, Arena arena, boolean huge, int flags) {
        long total = bytes + HUGE; // room to move the start onto a 2 MiB boundary
        long base;
        try {
            base = ((MemorySegment) Native.MMAP.invokeExact(MemorySegment.NULL, total, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0L)).address();
        } catch (Throwable t) {
            return null;
        }
        if (base == -1L || base == 0L) {
            return null; // MAP_FAILED: Arena.allocate will say what is wrong (out of memory) if it is real
        }
        long start = (base + HUGE - 1) & -HUGE;
        long whole = bytes & -HUGE;
        if (huge && whole > 0) {
            try {
                // failing (a kernel without transparent huge pages) leaves ordinary pages: still correct
                int ignored = (int) Native.MADVISE.invokeExact(MemorySegment.ofAddress(start), whole, MADV_HUGEPAGE);
            } catch (Throwable t) {
                // as above
            }
        }
        try {
            return MemorySegment.ofAddress(start).reinterpret(bytes, arena, s -> unmap(base, total));
        } catch (RuntimeException e) {
            unmap(base, total); // the arena is closed or native access is denied
            return null;
        }
    }

    private static void unmap(long base, long total) {
        try {
            int ignored = (int) Native.MUNMAP.invokeExact(MemorySegment.ofAddress(base), total);
        } catch (Throwable t) {
            // nothing left to do: the mapping stays until the process ends
        }
    }
}
