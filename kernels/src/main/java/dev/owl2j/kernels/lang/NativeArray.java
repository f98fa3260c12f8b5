package dev.owl2j.kernels.lang;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Base of the device array types: a little-endian view of off-heap memory ({@link MemorySegment}) without a
 * header, so a memory-mapped checkpoint tensor or a device buffer's host mirror is an array without a copy.
 * Indices are element indices (ints, as in TornadoVM); an index outside the array throws on the JVM and is
 * undefined behaviour on a device.
 */
public abstract sealed class NativeArray permits FloatArray, IntArray, ShortArray, ByteArray, DoubleArray, LongArray {
    final MemorySegment segment;
    private final int size;

    NativeArray(MemorySegment segment, int elementBytes) {
        long n = segment.byteSize() / elementBytes;
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("an array holds at most " + Integer.MAX_VALUE + " elements, this segment has " + n);
        }
        this.segment = segment;
        this.size = (int) n;
    }

    static MemorySegment allocate(long elements, int elementBytes) {
        if (elements < 0) throw new IllegalArgumentException("negative array length " + elements);
        return Arena.ofAuto().allocate(Math.max(1, elements) * elementBytes, 8).asSlice(0, elements * elementBytes);
    }

    /** Number of elements. */
    public int getSize() {
        return size;
    }

    /** The memory behind the array (no copy). */
    public MemorySegment getSegment() {
        return segment;
    }

    public long getNumBytesOfSegment() {
        return segment.byteSize();
    }

    /** Sets every element to zero. */
    public void clear() {
        segment.fill((byte) 0);
    }
}
