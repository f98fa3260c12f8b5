package dev.owl2j.kernels.lang;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** 64-bit floats in device memory ({@code double*}; on a device without fp64 the compiler demotes doubles to float, see docs/kernels.md). */
public final class DoubleArray extends NativeArray {
    private static final ValueLayout.OfDouble LAYOUT = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A zero-filled off-heap array of numberOfElements elements. */
    public DoubleArray(int numberOfElements) {
        super(allocate(numberOfElements, 8), 8);
    }

    private DoubleArray(MemorySegment segment) {
        super(segment, 8);
    }

    /** A view of segment (no copy); its length must be a whole number of elements. */
    public static DoubleArray wrap(MemorySegment segment) {
        if (segment.byteSize() % 8 != 0) {
            throw new IllegalArgumentException("a DoubleArray needs a multiple of 8 bytes, got " + segment.byteSize());
        }
        return new DoubleArray(segment);
    }

    /** A new array holding a copy of segment's elements. */
    public static DoubleArray fromSegment(MemorySegment segment) {
        DoubleArray a = new DoubleArray((int) (segment.byteSize() / 8));
        MemorySegment.copy(segment, 0, a.segment, 0, a.segment.byteSize());
        return a;
    }

    public static DoubleArray fromArray(double[] values) {
        DoubleArray a = new DoubleArray(values.length);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    public static DoubleArray fromElements(double... values) {
        return fromArray(values);
    }

    public double get(int index) {
        return segment.getAtIndex(LAYOUT, index);
    }

    public void set(int index, double value) {
        segment.setAtIndex(LAYOUT, index, value);
    }

    /** Sets every element to value. */
    public void init(double value) {
        for (int i = 0; i < getSize(); i++) set(i, value);
    }

    public double[] toHeapArray() {
        double[] out = new double[getSize()];
        for (int i = 0; i < out.length; i++) out[i] = get(i);
        return out;
    }
}
