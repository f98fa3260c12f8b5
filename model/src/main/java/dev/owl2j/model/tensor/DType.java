package dev.owl2j.model.tensor;

import java.util.Locale;

/** Element types of stored tensors. Q8_0 and Q4_0 are llama.cpp's block-32 formats (F16 scale per block). */
public enum DType {
    F32(4, 1), F16(2, 1), BF16(2, 1), F64(8, 1), I64(8, 1), I32(4, 1), I16(2, 1), I8(1, 1), U8(1, 1), BOOL(1, 1),
    /** 32 weights per block: F16 scale + 32 int8. */
    Q8_0(34, 32),
    /** 32 weights per block: F16 scale + 16 bytes of packed 4-bit values (low nibbles = first 16). */
    Q4_0(18, 32);

    /** Bytes per block (a block is one element for the plain types). */
    public final int blockBytes;
    /** Elements per block. */
    public final int blockSize;

    DType(int blockBytes, int blockSize) {
        this.blockBytes = blockBytes;
        this.blockSize = blockSize;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    /** Bytes needed for {@code elements} elements (which must be a multiple of the block size). */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements is not a multiple of the " + this + " block size " + blockSize);
        }
        return elements / blockSize * blockBytes;
    }

    /** The safetensors spelling ("F16", "BF16", ...). */
    public String safetensorsName() {
        return name();
    }

    /** Parses a safetensors dtype name; returns null when unknown. */
    public static DType fromSafetensors(String name) {
        try {
            return DType.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
