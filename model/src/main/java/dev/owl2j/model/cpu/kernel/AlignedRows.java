package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.Settings;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Copies of X whose rows start on 64-byte boundaries, for the batched decode kernel and the quantized decode
 * matvec with 512-bit vectors.
 *
 * <p>Why: that kernel loads each 16-float X vector once per pair of weight rows, and a 64-byte load from an
 * address that is not a multiple of 64 touches two cache lines. Measured on the Q4_0 kernel (one thread, AVX-512):
 * 3.7-3.8 ns per block pair with X on a 64-byte boundary, 4.8-5.0 ns otherwise. Java places a {@code float[]} only
 * on an 8-byte boundary and says nothing about where, so a copy is made at the offset that aligns it. The offset
 * needs the array's address; the one supported way to see it is to hand the array to native code: a critical
 * downcall (heap access allowed, no collection can run during it) to C's {@code memset} with a length of 0, which
 * writes nothing and returns its pointer argument. The array may still move in a later collection; then that one
 * call runs unaligned, which only costs time. Loading X from 64-byte-aligned off-heap memory instead was slower
 * (the segment accesses cost more than the split loads).
 */
final class AlignedRows {
    private AlignedRows() {}

    /** memset(p, 0, 0), or null where the C library cannot be linked; linked on first use only. */
    private static final class Native {
        static final MethodHandle MEMSET = memset();
    }

    /** Only 512-bit vectors load whole cache lines; with 256-bit vectors the alignment measured no difference. */
    static final boolean ENABLED =
            VectorLinear.L == 16 && Settings.fromSystem().alignX() && Native.MEMSET != null;

    /** An array and the index in it where row 0 starts. */
    record Rows(float[] data, int offset) {}

    /**
     * Rows [0, n) of x (each cols floats, stored back to back) copied so that every row starts on a 64-byte
     * boundary, or x itself at offset 0 where that is not possible or not useful.
     */
    static Rows of(float[] x, int n, int cols) {
        return ENABLED ? aligned(x, 0, n, cols) : new Rows(x, 0);
    }

    /** One row x[xOff, xOff + cols) for the decode matvec, aligned as {@link #of} aligns rows. */
    static Rows ofRow(float[] x, int xOff, int cols) {
        return ENABLED ? aligned(x, xOff, 1, cols) : new Rows(x, xOff);
    }

    /** Rows [0, n) starting at x[xOff], as {@link #of} copies them, whatever the vector width (tests). */
    static Rows aligned(float[] x, int xOff, int n, int cols) {
        if (Native.MEMSET == null || cols % 16 != 0) {
            return new Rows(x, xOff);
        }
        float[] copy = new float[n * cols + 16];
        long address = address(copy);
        if (address < 0 || (address & 3) != 0) {
            return new Rows(x, xOff);
        }
        int offset = (int) (((64 - (address & 63)) & 63) / 4);
        System.arraycopy(x, xOff, copy, offset, n * cols);
        return new Rows(copy, offset);
    }

    /** The address of a[0] now, or −1. */
    static long address(float[] a) {
        try {
            return ((MemorySegment) Native.MEMSET.invokeExact(MemorySegment.ofArray(a), 0, 0L)).address();
        } catch (Throwable t) {
            return -1;
        }
    }

    private static MethodHandle memset() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("memset")
                    .map(f -> linker.downcallHandle(f,
                            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                            Linker.Option.critical(true)))
                    .orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null; // native access denied (--illegal-native-access=deny): the kernel runs unaligned
        }
    }
}
