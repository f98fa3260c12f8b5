package dev.owl2j.kernels.lang;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** 32-bit signed ints in device memory ({@code int*}). */
public final class IntArray extends NativeArray {
    private static final ValueLayout.OfInt LAYOUT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A zero-filled off-heap array of numberOfElements elements. */
    public IntArray(int numberOfElements) {
        super(allocate(numberOfElements, 4), 4);
    }

    private IntArray(MemorySegment segment) {
        super(segment, 4);
    }

    /** A view of segment (no copy); its length must be a whole number of elements. */
    public static IntArray wrap(MemorySegment segment) {
        if (segment.byteSize() % 4 != 0) {
            throw new IllegalArgumentException("a IntArray needs a multiple of 4 bytes, got " + segment.byteSize());
        }
        return new IntArray(segment);
    }

    /** A new array holding a copy of segment's elements. */
    public static IntArray fromSegment(MemorySegment segment) {
        IntArray a = new IntArray((int) (segment.byteSize() / 4));
        MemorySegment.copy(segment, 0, a.segment, 0, a.segment.byteSize());
        return a;
    }

    public static IntArray fromArray(int[] values) {
        IntArray a = new IntArray(values.length);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    public static IntArray fromElements(int... values) {
        return fromArray(values);
    }

    public int get(int index) {
        return segment.getAtIndex(LAYOUT, index);
    }

    public void set(int index, int value) {
        segment.setAtIndex(LAYOUT, index, value);
    }

    /** Sets every element to value. */
    public void init(int value) {
        for (int i = 0; i < getSize(); i++) set(i, value);
    }

    public int[] toHeapArray() {
        int[] out = new int[getSize()];
        for (int i = 0; i < out.length; i++) out[i] = get(i);
        return out;
    }
}
