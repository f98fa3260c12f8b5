package dev.owl2j.model.cpu.kernel;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** The packed X layout the eight-row kernel indexes into: every element, the padding, the group count, alignment. */
class PackedRowsTest {
    @Test
    void everyElementLandsWhereTheKernelsLookForIt() {
        int lanes = VectorLinear.L;
        Random rnd = new Random(7);
        for (int cols : new int[]{lanes, 3 * lanes + 5, 1056}) {
            int padded = (cols + lanes - 1) / lanes * lanes;
            for (int n = 1; n <= 24; n++) {
                float[] x = new float[n * cols];
                for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() + 1; // never 0, unlike the padding
                PackedRows.Groups g = PackedRows.pack(x, n, cols);
                // eight-row groups while more than four rows are left; the rest go to the four-row kernel
                int expectedGroups = 0;
                while (n - 8 * expectedGroups > 4) expectedGroups++;
                assertEquals(expectedGroups, g.count(), "groups for n=" + n);
                assertEquals(padded * 8, g.stride(), "group length");
                assertEquals(0, g.stride() % 16, "groups are whole 64-byte lines");
                for (int k = 0; k < g.count(); k++) {
                    for (int i = 0; i < 8; i++) {
                        int source = Math.min(k * 8 + i, n - 1); // unused slots repeat the last row
                        for (int c = 0; c < padded; c++) {
                            int at = g.start(k) + (c - c % lanes) * 8 + i * lanes + c % lanes;
                            float expected = c < cols ? x[source * cols + c] : 0f;
                            assertEquals(expected, g.data()[at], "n=" + n + " group " + k + " row " + i + " col " + c);
                        }
                    }
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
            PackedRows.Groups g = PackedRows.pack(x, 13, 1024);
            long offset = (AlignedRows.address(g.data()) + 4L * g.start(0)) % 64;
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
