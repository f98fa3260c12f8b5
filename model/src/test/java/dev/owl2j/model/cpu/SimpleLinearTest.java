package dev.owl2j.model.cpu;

import dev.owl2j.model.NumericAssert;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * SimpleLinear against the scalar ReferenceLinear (double accumulation) on fresh random matrices whose sizes
 * are not multiples of the row block or the vector width. Tolerance 1e-4 abs for sums of ~300 products of
 * magnitude ≤ 1 (float accumulation error is ~1e-6).
 */
class SimpleLinearTest {
    static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void matvecAndMatmulEqualTheReference(DType dtype) {
        Random rnd = new Random();
        int rows = 37 + rnd.nextInt(40);
        int cols = 257 + rnd.nextInt(60);
        int n = 1 + rnd.nextInt(9);
        Tensor w = randomMatrix(dtype, rows, cols, rnd);
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;

        Linear ref = new ReferenceLinear(w);
        Linear simple = new SimpleLinear(w);
        float[] expected = new float[n * rows];
        for (int i = 0; i < n; i++) ref.matvec(x, i * cols, expected, i * rows);
        float[] actual = new float[n * rows];
        simple.matmul(x, n, actual);
        NumericAssert.assertAllClose(dtype + " matmul " + rows + "x" + cols + " n=" + n, expected, actual, TOLERANCE);

        float[] one = new float[rows + 3];
        simple.matvec(x, (n - 1) * cols, one, 3);
        float[] expectedOne = new float[rows + 3];
        ref.matvec(x, (n - 1) * cols, expectedOne, 3);
        NumericAssert.assertAllClose(dtype + " matvec with offsets", expectedOne, one, TOLERANCE);
    }

    private static Tensor randomMatrix(DType dtype, int rows, int cols, Random rnd) {
        long count = (long) rows * cols;
        MemorySegment data = Arena.ofAuto().allocate(dtype.bytesFor(count));
        for (long i = 0; i < count; i++) {
            float v = rnd.nextFloat() * 2 - 1;
            switch (dtype) {
                case F32 -> data.set(Tensor.F32_LE, i * 4, v);
                case F16 -> data.set(Tensor.I16_LE, i * 2, Float.floatToFloat16(v));
                case BF16 -> data.set(Tensor.I16_LE, i * 2, (short) (Float.floatToRawIntBits(v) >>> 16));
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new Tensor("w", dtype, new long[]{rows, cols}, data);
    }
}
