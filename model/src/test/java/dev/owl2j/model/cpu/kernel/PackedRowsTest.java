package dev.owl2j.model.cpu.kernel;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The packed X layout the blocked kernels index into: every element, the padding, the group widths, alignment. */
class PackedRowsTest {
    @Test
    void everyElementLandsWhereTheKernelsLookForIt() {
        int lanes = VectorLinear.L;
        Random rnd = new Random(7);
        for (int wide : new int[]{4, 8}) {
            for (int cols : new int[]{lanes, 3 * lanes + 5, 1056}) {
                int padded = (cols + lanes - 1) / lanes * lanes;
                for (int n = 1; n <= 24; n++) {
                    float[] x = new float[n * cols];
                    for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() + 1; // never 0, unlike the padding
                    PackedRows.Groups g = PackedRows.pack(x, n, cols, wide);
                    int row = 0;
                    for (int k = 0; k < g.count(); k++) {
                        int width = g.width()[k];
                        assertEquals(row, g.first()[k], "first row of group " + k);
                        assertEquals(n - row > 4 ? wide : 4, width, "width of group " + k + " with " + (n - row) + " rows left");
                        for (int i = 0; i < width; i++) {
                            int source = Math.min(row + i, n - 1); // unused slots repeat the last row
                            for (int c = 0; c < padded; c++) {
                                int at = g.start()[k] + (c - c % lanes) * width + i * lanes + c % lanes;
                                float expected = c < cols ? x[source * cols + c] : 0f;
                                assertEquals(expected, g.data()[at], "n=" + n + " wide=" + wide + " group " + k + " row " + i + " col " + c);
                            }
                        }
                        assertEquals(0, (g.start()[k] - g.start()[0]) % 16, "group " + k + " is a whole number of 64-byte lines after group 0");
                        row += width;
                    }
                    int last = g.count() - 1;
                    assertTrue(g.first()[last] < n && row >= n, "n=" + n + ": the groups cover rows 0.." + (n - 1) + " and no more");
                }
            }
        }
    }

    /**
     * Group 0 starts on a 64-byte boundary where addresses can be seen. A collection may move the array between
     * packing and reading its address; only a measurement with no collection in between counts.
     */
    @Test
    void firstGroupStartsOnACacheLine() {
        if (!AlignedRows.ENABLED) {
            return; // 256-bit vectors: no alignment is attempted (none measured useful)
        }
        float[] x = new float[13 * 1024];
        for (int attempt = 0; attempt < 20; attempt++) {
            long collections = collections();
            PackedRows.Groups g = PackedRows.pack(x, 13, 1024, 8);
            long offset = (AlignedRows.address(g.data()) + 4L * g.start()[0]) % 64;
            if (collections() == collections) {
                assertEquals(0, offset, "byte offset of group 0 within its cache line");
                return;
            }
        }
        fail("a collection ran during every one of 20 attempts");
    }

    private static long collections() {
        long sum = 0;
        for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            sum += Math.max(0, gc.getCollectionCount());
        }
        return sum;
    }
}
