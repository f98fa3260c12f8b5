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
        AlignedRows.Rows rows = AlignedRows.aligned(x, 0, n, cols);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(rows.data()[rows.offset() + i]), "element " + i);
        }
        // one row from the middle of x, as the decode matvec asks for it
        AlignedRows.Rows row = AlignedRows.aligned(x, 2 * cols, 1, cols);
        for (int i = 0; i < cols; i++) {
            assertEquals(Float.floatToRawIntBits(x[2 * cols + i]), Float.floatToRawIntBits(row.data()[row.offset() + i]), "row 2, element " + i);
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
            AlignedRows.Rows rows = AlignedRows.aligned(x, 0, n, cols);
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
        float[] x = new float[2 * 100]; // rows of 100 floats (400 bytes) cannot all share one alignment
        AlignedRows.Rows rows = AlignedRows.aligned(x, 100, 1, 100);
        assertSame(x, rows.data());
        assertEquals(100, rows.offset());
    }
}
