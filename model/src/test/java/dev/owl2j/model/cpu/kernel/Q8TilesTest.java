package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.ReferenceLinear;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Quantizer;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Q8_0 in row tiles ({@link Q8Tiles}) on fresh random matrices, every output element checked against the scalar
 * ReferenceLinear (double accumulation) over the dequantized weights, with LinearsTest's tolerance
 * |y − ref| ≤ 1e-5·Σ|w·x| + 1e-6: every path keeps x in float, so only the order of float additions differs. Row
 * counts around the tile height R (one row, fewer than a tile, several tiles and a partial one), columns from one
 * block to several K tiles of the prefill path (256) with a partial last one, and n through decode (1), batched
 * decode (2 to 24: whole and partial groups of four X rows) and prefill (25 and above, whole and partial groups of
 * six X rows). A unit-vector test checks bit for bit that every row lands in its own output lane on all three paths.
 */
class Q8TilesTest {
    @org.junit.jupiter.api.BeforeAll
    static void species() {
        // which vector width ran (the CI machine has 256-bit AVX2); with 4-lane vectors Q8_0 stays row-major
        // (LinearsTest covers that kernel) and these tests are skipped
        System.out.println("[Q8TilesTest] " + VectorLinear.F + ": tiles of " + Q8Tiles.R + " rows");
        org.junit.jupiter.api.Assumptions.assumeTrue(VectorLinear.L >= 8, "Q8Tiles needs float vectors of 8+ lanes");
    }

    @ParameterizedTest
    @CsvSource({"1, 32", "5, 64", "41, 1120", "67, 544", "32, 4096", "33, 288", "16, 96", "17, 11008"})
    void everyPathMatchesTheReference(int rows, int cols) {
        Random rnd = new Random(rows * 7919L + cols);
        Tensor w = LinearsTest.randomMatrix(DType.Q8_0, rows, cols, rnd);
        Linear tiles = Linears.of(w);
        assertInstanceOf(Q8Tiles.class, tiles);
        assertEquals(rows, tiles.rows());
        assertEquals(cols, tiles.cols());
        float[] wf = Quantizer.dequantize(w);
        Linear ref = new ReferenceLinear(LinearsTest.f32("w", rows, cols, wf));
        for (int n : new int[]{1, 2, 3, 4, 5, 7, 9, 13, 24, 25, 31, 40, 43}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (i % 61 == 0 ? 8 : 1));
            float[] expected = new float[n * rows];
            for (int i = 0; i < n; i++) ref.matvec(x, i * cols, expected, i * rows);
            float[] actual = new float[n * rows];
            Arrays.fill(actual, Float.NaN); // every element must be written
            tiles.matmul(x, n, actual);
            LinearsTest.check("Q8_0 tiles " + rows + "x" + cols + " n=" + n, expected, actual, wf, x, rows, cols);
            // matvec at offsets into larger arrays
            float[] y = new float[rows + 3];
            Arrays.fill(y, Float.NaN);
            float[] padded = new float[cols + 5];
            System.arraycopy(x, (n - 1) * cols, padded, 5, cols);
            tiles.matvec(padded, 5, y, 3);
            assertTrue(Float.isNaN(y[0]) && Float.isNaN(y[2]), "matvec wrote before yOff");
            LinearsTest.check("Q8_0 tiles matvec " + rows + "x" + cols, Arrays.copyOfRange(expected, (n - 1) * rows, n * rows),
                    Arrays.copyOfRange(y, 3, rows + 3), wf, Arrays.copyOfRange(x, (n - 1) * cols, n * cols), rows, cols);
        }
    }

    /**
     * X rows that are unit vectors pick one column of W each: q·d·1 plus exact zeros, so every path must give the
     * dequantized column exactly (q·d is exact in float: 8 × 11 significant bits). Any row or lane out of place fails.
     */
    @Test
    void repackedTilesHoldEveryRowInItsLane() {
        Random rnd = new Random(4);
        int rows = Q8Tiles.R + 3;
        int cols = 320;
        Tensor w = LinearsTest.randomMatrix(DType.Q8_0, rows, cols, rnd);
        Q8Tiles t = Q8Tiles.repack(w);
        assertEquals(2L * (cols / 32) * 34 * Q8Tiles.R, t.byteSize());
        boolean[] seen = new boolean[Q8Tiles.R];
        for (int i = 0; i < Q8Tiles.R; i++) {
            int lane = Q8Tiles.scaleLane(i);
            assertTrue(lane >= 0 && lane < Q8Tiles.R && !seen[lane], "lane " + lane);
            seen[lane] = true;
        }
        float[] wf = Quantizer.dequantize(w);
        for (int n : new int[]{1, 6, 13, 30}) { // decode, batched decode (a partial group / several groups), prefill
            float[] x = new float[n * cols];
            int[] picked = new int[n];
            for (int i = 0; i < n; i++) {
                picked[i] = (i * 37 + 5) % cols; // columns 0-31 of different blocks and K tiles
                x[i * cols + picked[i]] = 1;
            }
            float[] y = new float[n * rows];
            t.matmul(x, n, y);
            for (int i = 0; i < n; i++) {
                float[] expected = new float[rows];
                for (int r = 0; r < rows; r++) expected[r] = wf[r * cols + picked[i]];
                assertArrayEquals(expected, Arrays.copyOfRange(y, i * rows, (i + 1) * rows), 0f,
                        "n=" + n + ", X row " + i + " = unit vector at column " + picked[i]);
            }
        }
    }

    @Test
    void quantizingAtLoadRepacks() {
        Random rnd = new Random(6);
        Tensor f16 = LinearsTest.randomMatrix(DType.F16, 9, 4160, rnd);
        assertTrue(Linears.copies(Quantizer.quantize(f16, DType.Q8_0)));
        Linear q = Linears.quantized(f16, DType.Q8_0);
        assertInstanceOf(Q8Tiles.class, q);
        Tensor ref = Quantizer.quantize(f16, DType.Q8_0);
        float[] wf = Quantizer.dequantize(ref);
        for (int n : new int[]{1, 3, 26}) {
            float[] x = new float[n * 4160];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
            float[] expected = new float[n * 9];
            Linear r = new ReferenceLinear(LinearsTest.f32("w", 9, 4160, wf));
            for (int i = 0; i < n; i++) r.matvec(x, i * 4160, expected, i * 9);
            float[] y = new float[n * 9];
            q.matmul(x, n, y);
            LinearsTest.check("F16 quantized to Q8_0 at load, n=" + n, expected, y, wf, x, 9, 4160);
        }
        // with tiles off, the row-major kernels (long rows as column panels)
        assertInstanceOf(ColumnPanels.class, Linears.quantized(f16, DType.Q8_0, false, 0));
        Tensor shortRows = Quantizer.quantize(LinearsTest.randomMatrix(DType.F16, 9, 64, rnd), DType.Q8_0);
        assertInstanceOf(Q8Linear.class, Linears.factory(null, false, 0).apply(shortRows));
        assertInstanceOf(Q8Tiles.class, Linears.factory(null, true, 0).apply(shortRows));
    }

    /** A Q8_0 matrix mapped from a file: repacked, its pages released, the file intact and the product right. */
    @Test
    void mappedSourceRepackedAndLeftIntact(@TempDir Path dir) throws IOException {
        Random rnd = new Random(9);
        int rows = 2 * Q8Tiles.R - 1;
        Tensor w = LinearsTest.randomMatrix(DType.Q8_0, rows, 640, rnd);
        Path file = dir.resolve("w.bin");
        byte[] bytes = w.data().toArray(ValueLayout.JAVA_BYTE);
        Files.write(file, bytes);
        // shared, as checkpoints are mapped: the repacking runs on the pool's threads
        try (Arena arena = Arena.ofShared(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Tensor m = new Tensor(w.name(), w.dtype(), w.shape(), ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes.length, arena));
            Linear t = Linears.of(m);
            assertInstanceOf(Q8Tiles.class, t);
            float[] wf = Quantizer.dequantize(w);
            float[] x = new float[640];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
            float[] expected = new float[rows];
            new ReferenceLinear(LinearsTest.f32("w", rows, 640, wf)).matvec(x, 0, expected, 0);
            float[] y = new float[rows];
            t.matvec(x, 0, y, 0);
            LinearsTest.check("Q8_0 mapped", expected, y, wf, x, rows, 640);
            assertTrue(Arrays.equals(bytes, m.data().toArray(ValueLayout.JAVA_BYTE)), "file contents intact");
        }
    }

    static {
        // the tests need the tiles switched on (the default)
        if (!Q8Tiles.ENABLED && VectorLinear.L >= 8) throw new IllegalStateException("owl2j.noQ8Tiles is set");
    }
}
