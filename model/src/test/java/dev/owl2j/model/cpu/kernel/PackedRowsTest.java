package dev.owl2j.model.cpu.kernel;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
                        if (AlignedRows.ENABLED) {
                            assertEquals(0, (AlignedRows.address(g.data()) + 4L * g.start()[k]) % 64, "group " + k + " starts on 64 bytes");
                        }
                        row += width;
                    }
                    int last = g.count() - 1;
                    assertTrue(g.first()[last] < n && row >= n, "n=" + n + ": the groups cover rows 0.." + (n - 1) + " and no more");
                }
            }
        }
    }
}
