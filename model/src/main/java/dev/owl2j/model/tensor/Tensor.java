package dev.owl2j.model.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named, contiguous, row-major tensor whose little-endian bytes live in a {@link MemorySegment}
 * (usually a zero-copy view into a memory-mapped checkpoint).
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {
    public static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Tensor {
        long expected = dtype.bytesFor(numel(shape));
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor " + name + ": " + data.byteSize() + " bytes for shape "
                    + Arrays.toString(shape) + " " + dtype + " (expected " + expected + ")");
        }
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long numel() {
        return numel(shape);
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** Element i widened to float (F32/F16/BF16/F64/integer types; not for quantized blocks). */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.get(F32_LE, i * 4);
            case F16 -> Float.float16ToFloat(data.get(I16_LE, i * 2));
            case BF16 -> Float.intBitsToFloat((data.get(I16_LE, i * 2) & 0xffff) << 16);
            case F64 -> (float) data.get(F64_LE, i * 8);
            case I64 -> data.get(I64_LE, i * 8);
            case I32 -> data.get(I32_LE, i * 4);
            case I16 -> data.get(I16_LE, i * 2);
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xff;
            default -> throw new UnsupportedOperationException("getFloat on " + dtype + " tensor " + name);
        };
    }

    /** All elements widened to a new float array (tests and small tensors; not for 7B weights). */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor " + name + " is too large for a float[]");
        }
        float[] out = new float[(int) n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32_LE, 0, out, 0, out.length);
            return out;
        }
        if (dtype == DType.F16 || dtype == DType.BF16) {
            // bulk copies of 16-bit chunks and a plain loop: the embedded default model widens its small matrices
            // this way at every start, while the code still runs in the interpreter (SmallLinear)
            boolean brain = dtype == DType.BF16;
            short[] chunk = new short[Math.min(out.length, 1 << 14)];
            for (int start = 0; start < out.length; start += chunk.length) {
                int len = Math.min(chunk.length, out.length - start);
                MemorySegment.copy(data, I16_LE, start * 2L, chunk, 0, len);
                for (int i = 0; i < len; i++) {
                    short h = chunk[i];
                    out[start + i] = brain ? Float.intBitsToFloat((h & 0xffff) << 16) : Float.float16ToFloat(h);
                }
            }
            return out;
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = getFloat(i);
        }
        return out;
    }

    /** All elements of an integer tensor as longs. */
    public long[] toLongArray() {
        long[] out = new long[Math.toIntExact(numel())];
        for (int i = 0; i < out.length; i++) {
            out[i] = dtype == DType.I64 ? data.get(I64_LE, i * 8L) : (long) getFloat(i);
        }
        return out;
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString();
    }
}
