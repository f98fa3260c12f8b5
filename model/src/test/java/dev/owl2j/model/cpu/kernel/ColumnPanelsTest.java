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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Long-row matrices split into column panels compute the same y = W·x as the scalar reference over the whole
 * matrix (fresh random weights and inputs, every element checked with LinearsTest's tolerance), for every stored
 * dtype, for matvec at offsets and for matmul through the batched and tiled paths; small panel widths make many
 * panels (and a narrower last one) without 7B-sized test matrices.
 */
class ColumnPanelsTest {
    @ParameterizedTest
    @CsvSource({"F32, 37, 1120, 256", "F16, 21, 608, 224", "BF16, 19, 1056, 512", "Q8_0, 39, 1120, 256",
            "Q4_0, 41, 608, 224", "Q4_0, 6, 4160, 4096"})
    void panelsEqualTheWholeMatrix(DType dtype, int rows, int cols, int maxCols) {
        Random rnd = new Random(rows * 131L + cols);
        Tensor w = LinearsTest.randomMatrix(dtype, rows, cols, rnd);
        assertTrue(ColumnPanels.wanted(w, maxCols));
        Linear panels = ColumnPanels.split(w, maxCols, Linears::kernel);
        assertInstanceOf(ColumnPanels.class, panels);
        assertEquals(rows, panels.rows());
        assertEquals(cols, panels.cols());
        assertEquals(w.data().byteSize(), panels.byteSize(), "panels hold the same bytes");
        checkAgainstReference(dtype + " " + rows + "x" + cols + " panels of <= " + maxCols, w, panels, rnd);
    }

    @Test
    void onlyRowsLongerThanThePanelAreSplit() {
        Random rnd = new Random(3);
        assertFalse(ColumnPanels.wanted(LinearsTest.randomMatrix(DType.F16, 4, 256, rnd), 256));
        assertTrue(ColumnPanels.wanted(LinearsTest.randomMatrix(DType.F16, 4, 288, rnd), 256));
        assertFalse(ColumnPanels.wanted(LinearsTest.randomMatrix(DType.F16, 4, 300, rnd), 256), "not on 32-column boundaries");
        assertFalse(ColumnPanels.wanted(LinearsTest.randomMatrix(DType.F16, 4, 288, rnd), 0), "0 turns panels off");
    }

    /** The decoder's down_proj shape class (longer than 4096 columns) goes through panels by default. */
    @Test
    void linearsSplitLongRowsIncludingWhenQuantizingAtLoad() {
        Random rnd = new Random(5);
        Tensor f16 = LinearsTest.randomMatrix(DType.F16, 5, ColumnPanels.MAX_COLS + 64, rnd);
        assertTrue(Linears.copies(f16));
        // (5 rows are few enough weights for SmallLinear in Linears.of; the Vector API kernels are what is tested here)
        Linear panels = Linears.vectorFactory(null).apply(f16);
        assertInstanceOf(ColumnPanels.class, panels);
        checkAgainstReference("F16 via Linears.vectorFactory", f16, panels, rnd);
        // quantized at load: the whole quantized matrix is scratch, freed once the panels are copied (with row
        // tiles on, the default, Q4_0 and Q8_0 are repacked into tiles instead: Q4TilesTest, Q8TilesTest)
        Linear q = Linears.quantized(f16, DType.Q8_0, false, 0);
        assertInstanceOf(ColumnPanels.class, q);
        checkAgainstReference("F16 quantized to Q8_0 at load", Quantizer.quantize(f16, DType.Q8_0), q, rnd);
    }

    /** Weights mapped from a file: the panels are copies, and the source pages may be released afterwards. */
    @Test
    void mappedSourceStaysReadableAfterItsPagesAreReleased(@TempDir Path dir) throws IOException {
        Random rnd = new Random(9);
        Tensor w = LinearsTest.randomMatrix(DType.Q8_0, 7, 640, rnd);
        try (Arena arena = Arena.ofConfined()) {
            Tensor m = mapped(w, dir.resolve("w.bin"), arena);
            Linear panels = ColumnPanels.split(m, 256, Linears::kernel);
            checkAgainstReference("Q8_0 mapped", w, panels, rnd);
            assertFileIntact(w, m);
        }
    }

    /** Quantizing a mapped float matrix at load releases its pages afterwards; the file stays intact. */
    @Test
    void quantizingAMappedMatrixAtLoad(@TempDir Path dir) throws IOException {
        Random rnd = new Random(11);
        Tensor w = LinearsTest.randomMatrix(DType.F16, 9, 320, rnd);
        try (Arena arena = Arena.ofConfined()) {
            Tensor m = mapped(w, dir.resolve("f16.bin"), arena);
            Linear q = Linears.quantized(m, DType.Q8_0);
            checkAgainstReference("F16 mapped, quantized to Q8_0", Quantizer.quantize(w, DType.Q8_0), q, rnd);
            assertFileIntact(w, m);
        }
    }

    /** w written to file and mapped back read-only (the way checkpoints are loaded). */
    private static Tensor mapped(Tensor w, Path file, Arena arena) throws IOException {
        Files.write(file, w.data().toArray(ValueLayout.JAVA_BYTE));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return new Tensor(w.name(), w.dtype(), w.shape(), ch.map(FileChannel.MapMode.READ_ONLY, 0, w.data().byteSize(), arena));
        }
    }

    private static void assertFileIntact(Tensor original, Tensor mapped) {
        assertTrue(Arrays.equals(original.data().toArray(ValueLayout.JAVA_BYTE), mapped.data().toArray(ValueLayout.JAVA_BYTE)),
                "file contents intact");
    }

    private static void checkAgainstReference(String what, Tensor w, Linear fast, Random rnd) {
        int rows = Math.toIntExact(w.dim(0));
        int cols = Math.toIntExact(w.dim(1));
        float[] wf = Quantizer.dequantize(w);
        Linear ref = new ReferenceLinear(LinearsTest.f32(w.name(), rows, cols, wf));
        for (int n : new int[]{1, 2, 5, 17, 25}) { // matvec, the blocked batched path, the tiled path
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
            float[] expected = new float[n * rows];
            for (int i = 0; i < n; i++) ref.matvec(x, i * cols, expected, i * rows);
            float[] actual = new float[n * rows];
            Arrays.fill(actual, Float.NaN); // every element must be written
            fast.matmul(x, n, actual);
            LinearsTest.check(what + " matmul n=" + n, expected, actual, wf, x, rows, cols);
            float[] y = new float[rows + 3];
            Arrays.fill(y, Float.NaN);
            fast.matvec(x, (n - 1) * cols, y, 3);
            LinearsTest.check(what + " matvec", Arrays.copyOfRange(expected, (n - 1) * rows, n * rows),
                    Arrays.copyOfRange(y, 3, rows + 3), wf, Arrays.copyOfRange(x, (n - 1) * cols, n * cols), rows, cols);
        }
    }
}
