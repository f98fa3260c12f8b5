package dev.owl2j.kernels.lang;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** 64-bit signed ints in device memory ({@code long*}). */
public final class LongArray extends NativeArray {
    private static final ValueLayout.OfLong LAYOUT = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A zero-filled off-heap array of numberOfElements elements. */
    public LongArray(int numberOfElements) {
        super(allocate(numberOfElements, 8), 8);
    }

    private LongArray(MemorySegment segment) {
        super(segment, 8);
    }

    /** A view of segment (no copy); its length must be a whole number of elements. */
    public static LongArray wrap(MemorySegment segment) {
        if (segment.byteSize() % 8 != 0) {
            throw new IllegalArgumentException("a LongArray needs a multiple of 8 bytes, got " + segment.byteSize());
        }
        return new LongArray(segment);
    }

    /** A new array holding a copy of segment's elements. */
    public static LongArray fromSegment(MemorySegment segment) {
        LongArray a = new LongArray((int) (segment.byteSize() / 8));
        MemorySegment.copy(segment, 0, a.segment, 0, a.segment.byteSize());
        return a;
    }

    public static LongArray fromArray(long[] values) {
        LongArray a = new LongArray(values.length);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    public static LongArray fromElements(long... values) {
        return fromArray(values);
    }

    public long get(int index) {
        return segment.getAtIndex(LAYOUT, index);
    }

    public void set(int index, long value) {
        segment.setAtIndex(LAYOUT, index, value);
    }

    /** Sets every element to value. */
    public void init(long value) {
        for (int i = 0; i < getSize(); i++) set(i, value);
    }

    public long[] toHeapArray() {
        long[] out = new long[getSize()];
        for (int i = 0; i < out.length; i++) out[i] = get(i);
        return out;
    }
}
