package dev.owl2j.kernels.lang;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** 16-bit values in device memory, typically raw F16 or BF16 bits (read F16 with {@code Float.float16ToFloat(a.get(i))}, BF16 with {@code Float.intBitsToFloat(a.get(i) << 16)}). */
public final class ShortArray extends NativeArray {
    private static final ValueLayout.OfShort LAYOUT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A zero-filled off-heap array of numberOfElements elements. */
    public ShortArray(int numberOfElements) {
        super(allocate(numberOfElements, 2), 2);
    }

    private ShortArray(MemorySegment segment) {
        super(segment, 2);
    }

    /** A view of segment (no copy); its length must be a whole number of elements. */
    public static ShortArray wrap(MemorySegment segment) {
        if (segment.byteSize() % 2 != 0) {
            throw new IllegalArgumentException("a ShortArray needs a multiple of 2 bytes, got " + segment.byteSize());
        }
        return new ShortArray(segment);
    }

    /** A new array holding a copy of segment's elements. */
    public static ShortArray fromSegment(MemorySegment segment) {
        ShortArray a = new ShortArray((int) (segment.byteSize() / 2));
        MemorySegment.copy(segment, 0, a.segment, 0, a.segment.byteSize());
        return a;
    }

    public static ShortArray fromArray(short[] values) {
        ShortArray a = new ShortArray(values.length);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    public static ShortArray fromElements(short... values) {
        return fromArray(values);
    }

    public short get(int index) {
        return segment.getAtIndex(LAYOUT, index);
    }

    public void set(int index, short value) {
        segment.setAtIndex(LAYOUT, index, value);
    }

    /** Sets every element to value. */
    public void init(short value) {
        for (int i = 0; i < getSize(); i++) set(i, value);
    }

    public short[] toHeapArray() {
        short[] out = new short[getSize()];
        for (int i = 0; i < out.length; i++) out[i] = get(i);
        return out;
    }
}
