package dev.owl2j.kernels;

/** How a weight matrix is stored on the device; the suffix picks the kernel variant (linear_f16, ...). */
public enum WeightType {
    F32("f32", 4, 1), F16("f16", 2, 1), BF16("bf16", 2, 1),
    /** llama.cpp Q8_0: blocks of 32 along a row, f16 scale then 32 int8 (34 bytes). */
    Q8_0("q8_0", 34, 32),
    /** llama.cpp Q4_0: blocks of 32, f16 scale then 16 bytes; low nibbles = elements 0..15, value = nibble - 8. */
    Q4_0("q4_0", 18, 32);

    public final String suffix;
    public final int blockBytes;
    public final int blockSize;

    WeightType(String suffix, int blockBytes, int blockSize) {
        this.suffix = suffix;
        this.blockBytes = blockBytes;
        this.blockSize = blockSize;
    }

    public boolean quantized() {
        return blockSize > 1;
    }

    /** Bytes of a [rows, cols] matrix; cols must be a multiple of the block size. */
    public long bytes(long rows, long cols) {
        if (cols % blockSize != 0) {
            throw new DeviceException(this + " needs rows whose length is a multiple of " + blockSize + ", got " + cols);
        }
        return rows * (cols / blockSize) * blockBytes;
    }
}
