package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.ReferenceLinear;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Quantizer;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Q4_0 in row tiles ({@link Q4Tiles}) on fresh random matrices, every output element checked. Row counts are
 * chosen around the tile height R (one row, fewer than a tile, several tiles and a partial one) and columns from
 * one block to several K tiles of the prefill path.
 *
 * <ul>
 * <li>Decode and batched decode (n ≤ 24) quantize x: their reference is computed here independently from the
 *     stored Q4_0 blocks and x quantized by {@link Quantizer#quantizeRow} (checked bit for bit against ggml's C
 *     reference by QuantizerTest): Σ_b d_w·d_x·Σ_j (q_j − 8)·x_q,j in double. The kernel's integer sums are exact,
 *     so only the float accumulation of per-block terms differs: |y − ref| ≤ 1e-5·Σ_b |term_b| + 1e-6.</li>
 * <li>The same outputs against the float product with x unquantized, within the bound x's quantization allows:
 *     |Σ w·(x − x̂)| ≤ Σ_c |w_c|·d_x/2 (plus the float tolerance), which any layout or lane mistake exceeds.</li>
 * <li>Prefill (n ≥ 25) keeps x in float: against ReferenceLinear with the tolerance of LinearsTest; the 16-bit
 *     integer prefill (off by default) quantizes x and is checked like decode.</li>
 * </ul>
 */
class Q4TilesTest {
    @org.junit.jupiter.api.BeforeAll
    static void species() {
        // which vector width ran (the CI machine has 256-bit AVX2; tests also run with -XX:UseAVX=2 / -XX:MaxVectorSize=32)
        System.out.println("[Q4TilesTest] " + VectorLinear.F + ": tiles of " + Q4Tiles.R + " rows");
    }

    @ParameterizedTest
    @CsvSource({"1, 32", "5, 64", "41, 1120", "67, 544", "32, 4096", "33, 288", "16, 96", "17, 11008"})
    void everyPathMatchesItsReference(int rows, int cols) {
        Random rnd = new Random(rows * 7919L + cols);
        Tensor w = LinearsTest.randomMatrix(DType.Q4_0, rows, cols, rnd);
        Linear tiles = Linears.of(w);
        assertInstanceOf(Q4Tiles.class, tiles);
        assertEquals(rows, tiles.rows());
        assertEquals(cols, tiles.cols());
        float[] wf = Quantizer.dequantize(w);
        Linear ref = new ReferenceLinear(LinearsTest.f32("w", rows, cols, wf));
        for (int n : new int[]{1, 2, 3, 4, 5, 7, 9, 24, 25, 31, 40}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (i % 61 == 0 ? 8 : 1));
            float[] actual = new float[n * rows];
            tiles.matmul(x, n, actual);
            String what = "Q4_0 tiles " + rows + "x" + cols + " n=" + n;
            if (n <= VectorLinear.BLOCKED_MAX || Q4Tiles.INT16_PREFILL) {
                checkInteger(what, w, x, n, actual);
            } else {
                float[] expected = new float[n * rows];
                for (int i = 0; i < n; i++) ref.matvec(x, i * cols, expected, i * rows);
                LinearsTest.check(what, expected, actual, wf, x, rows, cols);
            }
            // matvec at offsets into larger arrays
            float[] y = new float[rows + 3];
            float[] lastX = java.util.Arrays.copyOfRange(x, (n - 1) * cols, n * cols);
            float[] padded = new float[cols + 5];
            System.arraycopy(lastX, 0, padded, 5, cols);
            tiles.matvec(padded, 5, y, 3);
            checkInteger("Q4_0 tiles matvec " + rows + "x" + cols, w, lastX, 1, java.util.Arrays.copyOfRange(y, 3, rows + 3));
        }
    }

    /**
     * The 16-bit integer prefill ({@code owl2j.int16Prefill}, off by default), called directly so that it runs at
     * any vector width: x is quantized as in decode, so every element is checked against the integer reference.
     */
    @ParameterizedTest
    @CsvSource({"5, 64", "41, 1120", "33, 288", "64, 544", "17, 11008"})
    void int16PrefillMatchesTheIntegerReference(int rows, int cols) {
        Random rnd = new Random(rows * 31L + cols);
        Tensor w = LinearsTest.randomMatrix(DType.Q4_0, rows, cols, rnd);
        Q4Tiles tiles = assertInstanceOf(Q4Tiles.class, Linears.of(w));
        for (int n : new int[]{1, 3, 4, 25, 31, 40}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (i % 61 == 0 ? 8 : 1));
            float[] y = new float[n * rows];
            java.util.Arrays.fill(y, Float.NaN);
            tiles.matmulInt16(x, n, y);
            checkInteger("Q4_0 int16 prefill " + rows + "x" + cols + " n=" + n, w, x, n, y);
        }
    }

    /**
     * A group over one x (a layer's q/k/v or gate/up, {@link Linear#matmulAll}): one decode row goes through the
     * tiles of all matrices in one pass, each matrix's rows checked against the integer reference; several rows, and
     * a group with another kernel in it, fall back to each matrix's own matmul (same values as calling it).
     */
    @Test
    void aGroupOverOneXMatchesEachMatrix() {
        Random rnd = new Random(4242);
        int cols = 1120;
        int[] rowCounts = {67, 5, Q4Tiles.R * 3, 33};
        Tensor[] ws = new Tensor[rowCounts.length];
        Linear[] group = new Linear[rowCounts.length];
        for (int i = 0; i < ws.length; i++) {
            ws[i] = LinearsTest.randomMatrix(DType.Q4_0, rowCounts[i], cols, rnd);
            group[i] = Linears.of(ws[i]);
        }
        for (int n : new int[]{1, 3, 30}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[][] ys = new float[group.length][];
            for (int i = 0; i < group.length; i++) {
                ys[i] = new float[n * rowCounts[i]];
                java.util.Arrays.fill(ys[i], Float.NaN);
            }
            Linear.matmulAll(group, x, n, ys);
            for (int i = 0; i < group.length; i++) {
                float[] alone = new float[n * rowCounts[i]];
                group[i].matmul(x, n, alone);
                assertArrayEquals(alone, ys[i], "matrix " + i + " of the group, n=" + n);
                if (n <= VectorLinear.BLOCKED_MAX) {
                    checkInteger("group matrix " + i + " n=" + n, ws[i], x, n, ys[i]);
                }
            }
        }
        // another kernel in the group: each matrix on its own
        Tensor f32 = LinearsTest.randomMatrix(DType.F32, 40, cols, rnd);
        Linear[] mixed = {group[0], Linears.of(f32)};
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        float[][] ys = {new float[67], new float[40]};
        Linear.matmulAll(mixed, x, 1, ys);
        float[] expected = new float[40];
        mixed[1].matvec(x, 0, expected, 0);
        assertArrayEquals(expected, ys[1]);
        checkInteger("mixed group Q4_0 matrix", ws[0], x, 1, ys[0]);
    }

    /** The integer reference and the x-quantization bound, for every element of y [n, rows]. */
    private static void checkInteger(String what, Tensor w, float[] x, int n, float[] y) {
        int rows = Math.toIntExact(w.dim(0));
        int cols = Math.toIntExact(w.dim(1));
        int blocks = cols / 32;
        MemorySegment wd = w.data();
        float[] wf = Quantizer.dequantize(w);
        for (int i = 0; i < n; i++) {
            float[] xr = java.util.Arrays.copyOfRange(x, i * cols, (i + 1) * cols);
            byte[] xq = Quantizer.quantizeRow(xr, DType.Q8_0);
            for (int r = 0; r < rows; r++) {
                double ref = 0, mag = 0, bound = 0, exact = 0;
                for (int b = 0; b < blocks; b++) {
                    long wo = ((long) r * blocks + b) * 18;
                    double dw = Float.float16ToFloat(wd.get(Tensor.I16_LE, wo));
                    double dx = Float.float16ToFloat((short) ((xq[b * 34] & 0xff) | xq[b * 34 + 1] << 8));
                    long isum = 0;
                    for (int j = 0; j < 16; j++) {
                        int q = wd.get(ValueLayout.JAVA_BYTE, wo + 2 + j) & 0xff;
                        isum += (long) ((q & 0x0f) - 8) * xq[b * 34 + 2 + j];
                        isum += (long) ((q >>> 4) - 8) * xq[b * 34 + 2 + 16 + j];
                    }
                    double term = dw * dx * isum;
                    ref += term;
                    mag += Math.abs(term);
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(xr[b * 32 + j]));
                    for (int j = 0; j < 32; j++) {
                        int c = b * 32 + j;
                        // x̂ uses the F16-rounded d: |x − x̂| ≤ d/2 + |x̂|·|d − d₁₆|/d₁₆ ≤ d/2 + 127·2⁻¹¹·d
                        bound += Math.abs(wf[r * cols + c]) * (amax / 127.0) * (0.5 + 127 * 0x1p-11);
                        exact += (double) wf[r * cols + c] * xr[c];
                    }
                }
                float got = y[i * rows + r];
                double tol = 1e-5 * mag + 1e-6;
                if (!(Math.abs(got - ref) <= tol)) {
                    fail(what + ": element [" + i + "," + r + "] expected " + ref + " (integer reference) got " + got + " (tol " + tol + ")");
                }
                if (!(Math.abs(got - exact) <= bound + tol + 1e-5 * Math.abs(exact))) {
                    fail(what + ": element [" + i + "," + r + "] " + got + " is further from the float product " + exact
                            + " than x's quantization allows (" + bound + ")");
                }
            }
        }
    }

    @Test
    void activationsQuantizedAsGgmlDoes() {
        Random rnd = new Random(3);
        int cols = 160;
        float[] x = new float[2 * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian() * (i < 32 ? 0 : 1); // one all-zero block
        x[40] = 0.5f * (x[41] = 127f); // an exact halfway case: 63.5 rounds away from zero
        QuantizedX q = QuantizedX.of(x, 0, 2, cols);
        for (int r = 0; r < 2; r++) {
            byte[] ref = Quantizer.quantizeRow(java.util.Arrays.copyOfRange(x, r * cols, (r + 1) * cols), DType.Q8_0);
            for (int b = 0; b < cols / 32; b++) {
                short d = (short) ((ref[b * 34] & 0xff) | ref[b * 34 + 1] << 8);
                assertEquals(Float.float16ToFloat(d), q.scales()[r * cols / 32 + b], "scale of block " + b);
                int sum = 0;
                for (int j = 0; j < 32; j++) {
                    assertEquals(ref[b * 34 + 2 + j], q.values()[r * cols + b * 32 + j], "value " + (b * 32 + j));
                    sum += ref[b * 34 + 2 + j];
                }
                assertEquals(sum, q.sums()[r * cols / 32 + b]);
            }
        }
        assertEquals(64, q.values()[40]);
    }

    /**
     * The vector quantization (prefill's 128 rows) against the scalar one, value by value, on rows that split over
     * the threads: wide and narrow ranges, all-zero blocks, exact halfway cases and values just below them.
     */
    @Test
    void vectorQuantizationEqualsTheScalarOne() {
        Random rnd = new Random(5);
        int n = 67, cols = 4096 + 64;
        float[] x = new float[3 + n * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 3));
        }
        for (int r = 0; r < n; r++) {
            int o = 3 + r * cols;
            java.util.Arrays.fill(x, o + 64, o + 96, 0f); // a zero block
            x[o] = 127f; // block 0's amax: its scale is exactly 1, so k + 0.5 is an exact halfway case
            for (int j = 1; j < 32; j++) {
                x[o + j] = (rnd.nextInt(253) - 126) + (j % 3 == 0 ? 0.5f : j % 3 == 1 ? Math.nextDown(0.5f) : -0.5f);
            }
        }
        QuantizedX q = QuantizedX.of(x, 3, n, cols);
        short[] v = new short[n * cols];
        float[] d = new float[n * cols / 32];
        int[] s = new int[n * cols / 32];
        QuantizedX.quantizeRows(x, 3, cols, 0, n, v, d, s, false);
        assertArrayEquals(v, q.values(), "values");
        assertArrayEquals(d, q.scales(), "scales");
        assertArrayEquals(s, q.sums(), "sums");
    }

    @Test
    void repackedTilesHoldEveryRowInItsLane() {
        Random rnd = new Random(4);
        int rows = Q4Tiles.R + 3;
        Tensor w = LinearsTest.randomMatrix(DType.Q4_0, rows, 64, rnd);
        Q4Tiles t = Q4Tiles.repack(w);
        assertEquals(2L * 2 * 18 * Q4Tiles.R, t.byteSize());
        // every lane of a tile is a distinct row: lane() is a permutation of 0 .. R-1
        boolean[] seen = new boolean[Q4Tiles.R];
        for (int i = 0; i < Q4Tiles.R; i++) {
            int lane = Q4Tiles.lane(i);
            assertTrue(lane >= 0 && lane < Q4Tiles.R && !seen[lane], "lane " + lane);
            seen[lane] = true;
        }
        // a unit x picks one column: y = column j of W, row by row, through the integer path (x quantizes to
        // 127 with the F16-rounded scale 1/127)
        float[] wf = Quantizer.dequantize(w);
        float unit = 127 * Float.float16ToFloat(Float.floatToFloat16(1 / 127f));
        for (int j : new int[]{0, 15, 16, 31, 37}) {
            float[] x = new float[64];
            x[j] = 1;
            float[] y = new float[rows];
            t.matvec(x, 0, y, 0);
            float[] expected = new float[rows];
            for (int r = 0; r < rows; r++) expected[r] = wf[r * 64 + j] * unit;
            assertArrayEquals(expected, y, 1e-6f, "column " + j);
        }
    }

    @Test
    void quantizingAtLoadRepacks() {
        Random rnd = new Random(6);
        Tensor f16 = LinearsTest.randomMatrix(DType.F16, 9, 4160, rnd);
        assertTrue(Linears.copies(Quantizer.quantize(f16, DType.Q4_0)));
        Linear q = Linears.quantized(f16, DType.Q4_0);
        assertInstanceOf(Q4Tiles.class, q);
        Tensor ref = Quantizer.quantize(f16, DType.Q4_0);
        float[] x = new float[4160];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
        float[] y = new float[9];
        q.matvec(x, 0, y, 0);
        checkInteger("F16 quantized to Q4_0 at load", ref, x, 1, y);
    }

    static {
        // the tests need the tiles switched on (the default)
        if (!Q4Tiles.ENABLED) throw new IllegalStateException("owl2j.noQ4Tiles is set");
    }
}
