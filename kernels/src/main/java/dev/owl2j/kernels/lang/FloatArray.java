package dev.owl2j.kernels.lang;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** 32-bit floats in device memory (OpenCL/CUDA {@code float*}). */
public final class FloatArray extends NativeArray {
    private static final ValueLayout.OfFloat LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A zero-filled off-heap array of numberOfElements elements. */
    public FloatArray(int numberOfElements) {
        super(allocate(numberOfElements, 4), 4);
    }

    private FloatArray(MemorySegment segment) {
        super(segment, 4);
    }

    /** A view of segment (no copy); its length must be a whole number of elements. */
    public static FloatArray wrap(MemorySegment segment) {
        if (segment.byteSize() % 4 != 0) {
            throw new IllegalArgumentException("a FloatArray needs a multiple of 4 bytes, got " + segment.byteSize());
        }
        return new FloatArray(segment);
    }

    /** A new array holding a copy of segment's elements. */
    public static FloatArray fromSegment(MemorySegment segment) {
        FloatArray a = new FloatArray((int) (segment.byteSize() / 4));
        MemorySegment.copy(segment, 0, a.segment, 0, a.segment.byteSize());
        return a;
    }

    public static FloatArray fromArray(float[] values) {
        FloatArray a = new FloatArray(values.length);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    public static FloatArray fromElements(float... values) {
        return fromArray(values);
    }

    public float get(int index) {
        return segment.getAtIndex(LAYOUT, index);
    }

    public void set(int index, float value) {
        segment.setAtIndex(LAYOUT, index, value);
    }

    /** Sets every element to value. */
    public void init(float value) {
        for (int i = 0; i < getSize(); i++) set(i, value);
    }

    public float[] toHeapArray() {
        float[] out = new float[getSize()];
        for (int i = 0; i < out.length; i++) out[i] = get(i);
        return out;
    }
}
