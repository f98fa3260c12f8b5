package dev.owl2j.model.cpu.kernel;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The aligned copy of X for the batched decode kernel: same values, every row on a 64-byte boundary. */
class AlignedRowsTest {
    @Test
    void theCopyHoldsEveryValueOfEveryRow() {
        Random rnd = new Random(7);
        int n = 5, cols = 96;
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
        AlignedRows.Rows rows = AlignedRows.aligned(x, n, cols);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(rows.data()[rows.offset() + i]), "element " + i);
        }
    }

    @Test
    void rowsStartOn64ByteBoundaries() {
        int n = 3, cols = 4096;
        float[] x = new float[n * cols];
        assertTrue(AlignedRows.address(x) > 0, "the C library's memset is linked (native access is enabled in the tests)");
        // a collection between the copy and the address check may move the copy; then the next try is checked
        boolean aligned = false;
        for (int attempt = 0; attempt < 3 && !aligned; attempt++) {
            AlignedRows.Rows rows = AlignedRows.aligned(x, n, cols);
            long address = AlignedRows.address(rows.data());
            aligned = true;
            for (int r = 0; r < n; r++) {
                aligned &= (address + 4L * (rows.offset() + (long) r * cols)) % 64 == 0;
            }
        }
        assertTrue(aligned, "rows of the copy start on 64-byte boundaries");
    }

    @Test
    void rowsThatCannotAllBeAlignedAreNotCopied() {
        float[] x = new float[2 * 100]; // 100 floats = 400 bytes: the second row cannot share the first's alignment
        AlignedRows.Rows rows = AlignedRows.aligned(x, 2, 100);
        assertSame(x, rows.data());
        assertEquals(0, rows.offset());
    }
}
