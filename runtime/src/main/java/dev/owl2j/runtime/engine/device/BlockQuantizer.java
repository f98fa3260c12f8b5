package dev.owl2j.runtime.engine.device;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Quantizes a float weight matrix to llama.cpp's block-32 Q8_0 / Q4_0 layouts at upload time (scale = f16
 * first, then the packed values; Q4_0 low nibbles are elements 0..15, value = nibble - 8). Hand-written
 * because the layouts are a few lines and no Java library produces them. A project-wide
 * {@code dev.owl2j.model.tensor.Quantizer} can replace this once it exists.
 */
public final class BlockQuantizer {
    private BlockQuantizer() {}

    /** Row-major [rows, cols] (cols a multiple of 32) into a direct little-endian buffer of blocks. */
    public static ByteBuffer quantize(Tensor t, DType type) {
        long rows = t.dim(0), cols = t.dim(1);
        if (cols % 32 != 0) {
            throw new Owl2jException("cannot quantize " + t.name() + " to " + type + ": rows of " + cols + " are not a multiple of 32");
        }
        long bytes = type.bytesFor(rows * cols);
        if (bytes > Integer.MAX_VALUE) throw new Owl2jException("tensor " + t.name() + " is too large to quantize in one piece");
        ByteBuffer out = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] block = new float[32];
        for (long i = 0; i < rows * cols; i += 32) {
            float amax = 0;
            float signedMax = 0;
            for (int j = 0; j < 32; j++) {
                block[j] = t.getFloat(i + j);
                if (Math.abs(block[j]) > amax) {
                    amax = Math.abs(block[j]);
                    signedMax = block[j];
                }
            }
            if (type == DType.Q8_0) {
                float d = amax / 127f;
                short dh = Float.floatToFloat16(d);
                float inv = d == 0 ? 0 : 1f / Float.float16ToFloat(dh);
                out.putShort(dh);
                for (int j = 0; j < 32; j++) out.put((byte) Math.max(-127, Math.min(127, Math.round(block[j] * inv))));
            } else if (type == DType.Q4_0) {
                // llama.cpp's choice: the largest-magnitude value maps to -8 exactly, so d = max / -8.
                float d = signedMax / -8f;
                short dh = Float.floatToFloat16(d);
                float inv = d == 0 ? 0 : 1f / Float.float16ToFloat(dh);
                out.putShort(dh);
                for (int j = 0; j < 16; j++) {
                    int lo = Math.max(0, Math.min(15, (int) (block[j] * inv + 8.5f)));
                    int hi = Math.max(0, Math.min(15, (int) (block[j + 16] * inv + 8.5f)));
                    out.put((byte) (lo | (hi << 4)));
                }
            } else {
                throw new Owl2jException("quantization type must be Q8_0 or Q4_0, not " + type);
            }
        }
        return out.flip();
    }
}
