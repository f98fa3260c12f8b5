package dev.owl2j.kernels.lang;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Bytes in device memory (signed, like Java's byte), e.g. llama.cpp Q8_0/Q4_0 blocks. */
public final class ByteArray extends NativeArray {
    private static final ValueLayout.OfByte LAYOUT = ValueLayout.JAVA_BYTE.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A zero-filled off-heap array of numberOfElements elements. */
    public ByteArray(int numberOfElements) {
        super(allocate(numberOfElements, 1), 1);
    }

    private ByteArray(MemorySegment segment) {
        super(segment, 1);
    }

    /** A view of segment (no copy); its length must be a whole number of elements. */
    public static ByteArray wrap(MemorySegment segment) {
        if (segment.byteSize() % 1 != 0) {
            throw new IllegalArgumentException("a ByteArray needs a multiple of 1 bytes, got " + segment.byteSize());
        }
        return new ByteArray(segment);
    }

    /** A new array holding a copy of segment's elements. */
    public static ByteArray fromSegment(MemorySegment segment) {
        ByteArray a = new ByteArray((int) (segment.byteSize() / 1));
        MemorySegment.copy(segment, 0, a.segment, 0, a.segment.byteSize());
        return a;
    }

    public static ByteArray fromArray(byte[] values) {
        ByteArray a = new ByteArray(values.length);
        for (int i = 0; i < values.length; i++) a.set(i, values[i]);
        return a;
    }

    public static ByteArray fromElements(byte... values) {
        return fromArray(values);
    }

    public byte get(int index) {
        return segment.getAtIndex(LAYOUT, index);
    }

    public void set(int index, byte value) {
        segment.setAtIndex(LAYOUT, index, value);
    }

    /** Sets every element to value. */
    public void init(byte value) {
        for (int i = 0; i < getSize(); i++) set(i, value);
    }

    public byte[] toHeapArray() {
        byte[] out = new byte[getSize()];
        for (int i = 0; i < out.length; i++) out[i] = get(i);
        return out;
    }

    /**
     * The little-endian 16 bits at byteOffset (e.g. the F16 scale of a quantized block). byteOffset must be even:
     * devices read it as one aligned 16-bit load.
     */
    public short getShort(int byteOffset) {
        if ((byteOffset & 1) != 0) throw new IllegalArgumentException("ByteArray.getShort at odd byte offset " + byteOffset);
        return segment.get(SHORT, byteOffset);
    }

    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
}
