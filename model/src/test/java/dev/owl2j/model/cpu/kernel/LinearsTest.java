package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.ReferenceLinear;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Quantizer;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every kernel against the scalar ReferenceLinear (double accumulation) on fresh random matrices: odd row counts
 * (not multiples of the 16-row block, the 4×3 micro-tile or the thread count), column counts spanning several
 * 512-wide K tiles with a partial last one, and n from 1 (matvec) through the blocked batched-decode path (2..24:
 * full and partial 4-row X groups, odd weight-row pairs) to the tiled path (25). Quantized
 * kernels are compared with the reference over the dequantized weights, so only float rounding differs.
 * Float matrices are also checked in the plain-Java {@link SmallLinear} (which the ordinary factory gives only
 * matrices with short rows, but which is correct for any). Tolerance: |y − ref| ≤ 1e-5·Σ|w·x| + 1e-6 per element
 * (float accumulation over ≤ 1.1k terms is ~1e-6 relative to that magnitude).
 */
class LinearsTest {
    @ParameterizedTest
    @CsvSource({
            "F32, 37, 1056", "F32, 21, 603", "F16, 43, 1056", "F16, 19, 588", "BF16, 45, 1088", "BF16, 9, 200",
            "Q8_0, 39, 1056", "Q8_0, 6, 96", "Q4_0, 41, 1120", "Q4_0, 5, 64", "F16, 70, 608", "Q4_0, 67, 544"})
    void matchesReference(DType dtype, int rows, int cols) {
        Random rnd = new Random(rows * 31L + cols);
        Tensor w = randomMatrix(dtype, rows, cols, rnd);
        // the row-major kernels; Linears.of repacks Q4_0 and Q8_0 into row tiles (Q4TilesTest, Q8TilesTest)
        Linear vector = dtype.isQuantized() ? Linears.kernel(w) : Linears.vectorFactory(null).apply(w);
        assertFalse(vector instanceof SmallLinear);
        checkAgainstReference(dtype, w, vector, rnd);
        if (!dtype.isQuantized()) {
            Linear small = Linears.factory(null, true, Integer.MAX_VALUE).apply(w);
            assertTrue(small instanceof SmallLinear, small.getClass().getName());
            checkAgainstReference(dtype, w, small, rnd);
        }
    }

    /** Whatever the kernel, every output element of matmul (n from 1 to 40) and of matvec at offsets, fresh inputs. */
    private static void checkAgainstReference(DType dtype, Tensor w, Linear fast, Random rnd) {
        int rows = Math.toIntExact(w.dim(0));
        int cols = Math.toIntExact(w.dim(1));
        Linear ref = new ReferenceLinear(dtype.isQuantized() ? f32(w.name(), rows, cols, Quantizer.dequantize(w)) : w);
        assertEquals(rows, fast.rows());
        assertEquals(cols, fast.cols());
        float[] wf = Quantizer.dequantize(w);
        for (int n : new int[]{1, 2, 3, 4, 5, 7, 12, 13, 17, 24, 25, 31, 40}) { // matvec, the blocked path (<= 24), the tiled path (31: 12 + 12 + 6 + 1 rows)
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
            float[] expected = new float[n * rows];
            for (int i = 0; i < n; i++) ref.matvec(x, i * cols, expected, i * rows);
            float[] actual = new float[n * rows];
            fast.matmul(x, n, actual);
            check(dtype + " matmul " + rows + "x" + cols + " n=" + n, expected, actual, wf, x, rows, cols);
            // matvec at offsets into larger arrays
            float[] y = new float[rows + 5];
            fast.matvec(x, (n - 1) * cols, y, 5);
            float[] one = new float[rows];
            System.arraycopy(y, 5, one, 0, rows);
            float[] lastX = java.util.Arrays.copyOfRange(x, (n - 1) * cols, n * cols);
            float[] expectedOne = java.util.Arrays.copyOfRange(expected, (n - 1) * rows, n * rows);
            check(dtype + " matvec " + rows + "x" + cols, expectedOne, one, wf, lastX, rows, cols);
        }
    }

    /**
     * The embedded default model's shapes (rows of 64 to 176 values, and its 64 × 588 patch embedding) go to
     * SmallLinear with N = 256, rows shorter than 4 and not a multiple of 4 included; with N = 0, and at the real
     * model's shortest rows (1024) and its patch embedding (1024 × 588), they get the Vector API kernels.
     */
    @ParameterizedTest
    @CsvSource({"F16, 172, 64", "F16, 64, 172", "F16, 250, 64", "F32, 176, 64", "BF16, 64, 128", "F16, 3, 5", "F32, 7, 1",
            "F16, 1, 255", "F16, 64, 588", "F32, 3, 5000"})
    void shortRowsTakeThePlainJavaPath(DType dtype, int rows, int cols) {
        Random rnd = new Random(rows * 7L + cols);
        Tensor w = randomMatrix(dtype, rows, cols, rnd);
        Linear small = Linears.factory(null, true, 256).apply(w);
        assertTrue(small instanceof SmallLinear, small.getClass().getName());
        assertEquals((long) rows * cols * 4, small.byteSize());
        checkAgainstReference(dtype, w, small, rnd);
        assertFalse(Linears.factory(null, true, 0).apply(w) instanceof SmallLinear);
        assertFalse(Linears.vectorFactory(null).apply(w) instanceof SmallLinear);
        assertFalse(Linears.factory(null, true, 256).apply(randomMatrix(dtype, 64, 1024, rnd)) instanceof SmallLinear);
        assertFalse(Linears.factory(null, true, 256).apply(randomMatrix(dtype, 1024, 588, rnd)) instanceof SmallLinear);
        // quantized matrices always take their integer kernels
        assertFalse(Linears.factory(null, true, 256).apply(randomMatrix(DType.Q8_0, 3, 64, rnd)) instanceof SmallLinear);
    }

    /**
     * The batched-decode kernels at both X group widths, whatever this machine's vector width picks (with 256-bit
     * vectors the engine never runs the 8-row kernel, so only this test covers it there): every n from 2 to 24,
     * so full, padded and mixed 8- and 4-row groups all occur.
     */
    @ParameterizedTest
    @CsvSource({"F16, 21, 1064", "BF16, 6, 136", "Q8_0, 19, 1088", "Q4_0, 23, 1120", "Q4_0, 2, 32"})
    void blockedKernelsAtBothGroupWidths(DType dtype, int rows, int cols) {
        Random rnd = new Random(rows * 17L + cols);
        Tensor w = randomMatrix(dtype, rows, cols, rnd);
        Linear ref = new ReferenceLinear(dtype.isQuantized() ? f32(w.name(), rows, cols, Quantizer.dequantize(w)) : w);
        VectorLinear fast = (VectorLinear) Linears.kernel(w);
        assertTrue(fast.hasBlockedKernels(), dtype + " has no blocked kernels");
        float[] wf = Quantizer.dequantize(w);
        for (int n = 2; n <= 24; n++) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
            float[] expected = new float[n * rows];
            for (int i = 0; i < n; i++) ref.matvec(x, i * cols, expected, i * rows);
            for (int wide : new int[]{4, 8}) {
                float[] actual = new float[n * rows];
                fast.matmulBlocked(x, n, actual, wide);
                check(dtype + " blocked " + rows + "x" + cols + " n=" + n + " groups of " + wide, expected, actual, wf, x, rows, cols);
            }
        }
    }

    @Test
    void factoryQuantizesOnlyDecoderProjections() {
        Random rnd = new Random(1);
        Tensor q = randomMatrix(DType.F16, 8, 64, rnd);
        var f = Linears.vectorFactory(DType.Q4_0);
        long quantBytes = f.apply(rename(q, "model.layers.3.self_attn.k_proj.multiway.1.weight")).byteSize();
        // Q4_0 is repacked into tiles of Q4Tiles.R rows, the last one padded
        assertEquals((Q4Tiles.ENABLED ? Q4Tiles.R : 8) * 2 * 18, quantBytes);
        assertEquals(8 * 64 * 2, f.apply(rename(q, "lm_head.weight")).byteSize());
        assertEquals(8 * 64 * 2, f.apply(rename(q, "vision_model.encoder.layers.0.mlp.fc1.weight")).byteSize());
        assertTrue(Linears.isDecoderProjection("model.layers.0.mlp.down_proj.weight"));
        assertFalse(Linears.isDecoderProjection("model.layers.0.input_layernorm.multiway.0.weight"));
        assertEquals(8 * 64 * 2, Linears.vectorFactory(null).apply(rename(q, "model.layers.0.mlp.up_proj.weight")).byteSize());
        // with short rows in plain Java: still only the decoder projections are quantized
        var small = Linears.factory(DType.Q4_0, Q4Tiles.ENABLED, 256);
        assertEquals(quantBytes, small.apply(rename(q, "model.layers.3.self_attn.k_proj.multiway.1.weight")).byteSize());
        assertEquals(8 * 64 * 4, small.apply(rename(q, "lm_head.weight")).byteSize());
    }

    @Test
    void quantizedRowsMustBeWholeBlocks() {
        // 4 x 40 Q8_0 holds 5 whole blocks, but rows would split blocks.
        Tensor t = new Tensor("model.layers.0.mlp.down_proj.weight", DType.Q8_0, new long[]{4, 40},
                Arena.ofAuto().allocate(5 * 34));
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.owl2j.model.Owl2jException.class, () -> Linears.of(t));
        assertTrue(e.getMessage().contains("model.layers.0.mlp.down_proj.weight"), e.getMessage());
    }

    static void check(String what, float[] expected, float[] actual, float[] w, float[] x, int rows, int cols) {
        int n = expected.length / rows;
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < rows; r++) {
                double mag = 0;
                for (int c = 0; c < cols; c++) mag += Math.abs((double) w[r * cols + c] * x[i * cols + c]);
                double tol = 1e-5 * mag + 1e-6;
                int k = i * rows + r;
                if (!(Math.abs(expected[k] - actual[k]) <= tol)) {
                    fail(what + ": element [" + i + "," + r + "] expected " + expected[k] + " got " + actual[k] + " (tol " + tol + ")");
                }
            }
        }
    }

    private static Tensor rename(Tensor t, String name) {
        return new Tensor(name, t.dtype(), t.shape(), t.data());
    }

    static Tensor f32(String name, int rows, int cols, float[] v) {
        MemorySegment data = Arena.ofAuto().allocate(v.length * 4L);
        MemorySegment.copy(v, 0, data, Tensor.F32_LE, 0, v.length);
        return new Tensor(name, DType.F32, new long[]{rows, cols}, data);
    }

    static Tensor randomMatrix(DType dtype, int rows, int cols, Random rnd) {
        long count = (long) rows * cols;
        if (dtype.isQuantized()) {
            float[] v = new float[(int) count];
            for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            return Quantizer.quantize(f32("w", rows, cols, v), dtype);
        }
        MemorySegment data = Arena.ofAuto().allocate(dtype.bytesFor(count));
        for (long i = 0; i < count; i++) {
            float v = rnd.nextFloat() * 2 - 1;
            switch (dtype) {
                case F32 -> data.set(Tensor.F32_LE, i * 4, v);
                // include F16 subnormals now and then (exercises the bit-trick widening)
                case F16 -> data.set(Tensor.I16_LE, i * 2, Float.floatToFloat16(i % 97 == 0 ? v * 1e-6f : v));
                case BF16 -> data.set(Tensor.I16_LE, i * 2, (short) (Float.floatToRawIntBits(v) >>> 16));
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new Tensor("w", dtype, new long[]{rows, cols}, data);
    }
}
