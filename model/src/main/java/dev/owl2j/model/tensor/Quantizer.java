package dev.owl2j.model.tensor;

import dev.owl2j.model.Owl2jException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * llama.cpp's block-32 quantization formats, bit-exact with ggml's reference quantizers
 * ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}):
 * <ul>
 * <li>Q8_0: d = amax/127, q = roundf(x·(1/d)) (half away from zero); block = F16 d, 32 × int8.</li>
 * <li>Q4_0: d = max/−8 where max is the signed value of largest magnitude, q = min(15, trunc(x·(1/d) + 8.5));
 *     block = F16 d, 16 bytes whose low nibbles hold elements 0..15 and high nibbles elements 16..31;
 *     value = (q − 8)·d.</li>
 * </ul>
 * The scale is rounded to F16 (nearest even) after the quantized values are computed from the F32 scale, as ggml
 * does. Quantized tensors live in off-heap memory owned by an automatic arena (freed when unreachable).
 */
public final class Quantizer {
    private static final int QK = 32;

    private Quantizer() {}

    /** Quantizes a 2-D F32/F16/BF16 tensor row by row into Q8_0 or Q4_0 (same name and shape). */
    public static Tensor quantize(Tensor src, DType target) {
        return quantize(src, target, Arena.ofAuto());
    }

    /** As {@link #quantize(Tensor, DType)}, into memory of the given arena (shared or automatic: rows are written by several threads). */
    public static Tensor quantize(Tensor src, DType target, Arena arena) {
        if (target != DType.Q8_0 && target != DType.Q4_0) {
            throw new Owl2jException("cannot quantize " + src.name() + " to " + target + " (only Q8_0 and Q4_0)");
        }
        if (src.dtype() != DType.F32 && src.dtype() != DType.F16 && src.dtype() != DType.BF16) {
            throw new Owl2jException("cannot quantize " + src.name() + ": dtype " + src.dtype() + " is not F32/F16/BF16");
        }
        if (src.rank() != 2) {
            throw new Owl2jException("cannot quantize " + src.name() + ": not a matrix " + src.shapeString());
        }
        int rows = Math.toIntExact(src.dim(0));
        int cols = Math.toIntExact(src.dim(1));
        if (cols % QK != 0) {
            throw new Owl2jException("cannot quantize " + src.name() + " to " + target + ": " + cols
                    + " columns is not a multiple of " + QK);
        }
        long rowBytes = target.bytesFor(cols);
        MemorySegment out = arena.allocate(rowBytes * rows, 64);
        // blocks of 16 rows over the common fork-join pool: quantizing runs once at load, off the decode path
        int blocks = (rows + 15) / 16;
        java.util.stream.IntStream.range(0, blocks).parallel().forEach(b -> {
            int start = b * 16, end = Math.min(rows, start + 16);
            float[] row = new float[cols];
            short[] half = new short[cols];
            byte[] q = new byte[(int) rowBytes];
            for (int r = start; r < end; r++) {
                long base = (long) r * cols;
                // bulk row copy, then widen (the per-element Tensor.getFloat is several times slower at 7B sizes)
                switch (src.dtype()) {
                    case F32 -> MemorySegment.copy(src.data(), Tensor.F32_LE, base * 4, row, 0, cols);
                    case F16 -> {
                        MemorySegment.copy(src.data(), Tensor.I16_LE, base * 2, half, 0, cols);
                        for (int c = 0; c < cols; c++) row[c] = Float.float16ToFloat(half[c]);
                    }
                    default -> {
                        MemorySegment.copy(src.data(), Tensor.I16_LE, base * 2, half, 0, cols);
                        for (int c = 0; c < cols; c++) row[c] = Float.intBitsToFloat((half[c] & 0xffff) << 16);
                    }
                }
                quantizeRow(row, target, q);
                MemorySegment.copy(q, 0, out, ValueLayout.JAVA_BYTE, r * rowBytes, q.length);
            }
        });
        return new Tensor(src.name(), target, src.shape().clone(), out);
    }

    /** One row (length a multiple of 32) as Q8_0 or Q4_0 blocks. */
    public static byte[] quantizeRow(float[] row, DType target) {
        if (row.length % QK != 0) {
            throw new Owl2jException("cannot quantize a row of " + row.length + " values: not a multiple of " + QK);
        }
        byte[] out = new byte[(int) target.bytesFor(row.length)];
        quantizeRow(row, target, out);
        return out;
    }

    private static void quantizeRow(float[] row, DType target, byte[] out) {
        switch (target) {
            case Q8_0 -> {
                for (int b = 0, o = 0; b < row.length; b += QK, o += 34) {
                    q8Block(row, b, out, o);
                }
            }
            case Q4_0 -> {
                for (int b = 0, o = 0; b < row.length; b += QK, o += 18) {
                    q4Block(row, b, out, o);
                }
            }
            default -> throw new Owl2jException("cannot quantize to " + target + " (only Q8_0 and Q4_0)");
        }
    }

    private static void q8Block(float[] x, int off, byte[] out, int o) {
        float amax = 0;
        for (int j = 0; j < QK; j++) {
            amax = Math.max(amax, Math.abs(x[off + j]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putF16(out, o, d);
        for (int j = 0; j < QK; j++) {
            out[o + 2 + j] = (byte) roundHalfAway(x[off + j] * id);
        }
    }

    private static void q4Block(float[] x, int off, byte[] out, int o) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < QK; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putF16(out, o, d);
        for (int j = 0; j < QK / 2; j++) {
            // x·id lies in [-8, 8], so +8.5 is positive and the int cast truncates like C's (int8_t) cast.
            int lo = Math.min(15, (int) (x[off + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[off + QK / 2 + j] * id + 8.5f));
            out[o + 2 + j] = (byte) (lo | hi << 4);
        }
    }

    /** C's roundf: nearest integer, halfway cases away from zero (Math.round rounds them up). */
    private static float roundHalfAway(float v) {
        float a = Math.abs(v);
        float f = (float) Math.floor(a);
        if (a - f >= 0.5f) {
            f += 1;
        }
        return Math.copySign(f, v);
    }

    private static void putF16(byte[] out, int o, float v) {
        short h = Float.floatToFloat16(v);
        out[o] = (byte) h;
        out[o + 1] = (byte) (h >> 8);
    }

    /** All elements of a Q8_0/Q4_0 tensor (or any float tensor) as floats, row-major. */
    public static float[] dequantize(Tensor q) {
        if (!q.dtype().isQuantized()) {
            return q.toFloatArray();
        }
        long n = q.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new Owl2jException("tensor " + q.name() + " is too large to dequantize into one array");
        }
        float[] out = new float[(int) n];
        MemorySegment d = q.data();
        int blocks = (int) (n / QK);
        for (int b = 0; b < blocks; b++) {
            long o = (long) b * q.dtype().blockBytes;
            float scale = Float.float16ToFloat(d.get(Tensor.I16_LE, o));
            int e = b * QK;
            if (q.dtype() == DType.Q8_0) {
                for (int j = 0; j < QK; j++) {
                    out[e + j] = d.get(ValueLayout.JAVA_BYTE, o + 2 + j) * scale;
                }
            } else {
                for (int j = 0; j < QK / 2; j++) {
                    int v = d.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xff;
                    out[e + j] = ((v & 0xf) - 8) * scale;
                    out[e + j + QK / 2] = ((v >>> 4) - 8) * scale;
                }
            }
        }
        return out;
    }
}
