package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The load-time repacking that {@link Q4Tiles} and {@link Q8Tiles} share: llama.cpp's row-major blocks (an F16 scale,
 * then the block's quantized bytes) regrouped into tiles of {@link #R} = 2L rows. Tile t holds rows tR .. tR + R − 1
 * (a last tile padded with zero rows), block after block; a tile block is the R scales, then for each byte position j
 * of the source block one group of R bytes, byte j of every row. Row i's scale sits in 16-bit lane {@link #lane}(i),
 * so that read as 32-bit lanes the low halves are rows 0 .. L − 1 and the high halves rows L .. 2L − 1; the byte
 * groups are in that lane order too or in plain row order, as the kernel wants them.
 */
final class RowTiles {
    /** Rows per tile: as many as a vector has 16-bit lanes. */
    static final int R = 2 * VectorLinear.L;

    private RowTiles() {}

    /** The 16-bit lane of a tile's row i: 2i for i &lt; L, 2(i − L) + 1 otherwise. */
    static int lane(int i) {
        return i < VectorLinear.L ? 2 * i : 2 * (i - VectorLinear.L) + 1;
    }

    /**
     * w's blocks (2 scale bytes + quantBytes per 32 columns) repacked into tiles, byte groups in lane order when
     * bytesInLaneOrder is set, else in row order. w's pages are released afterwards when w is a mapped file.
     */
    static MemorySegment repack(Tensor w, int quantBytes, boolean bytesInLaneOrder) {
        int rows = Math.toIntExact(w.dim(0));
        int blocks = Math.toIntExact(w.dim(1)) / 32;
        int tiles = (rows + R - 1) / R;
        int blockIn = 2 + quantBytes;
        int blockOut = blockIn * R;
        MemorySegment src = w.data();
        MemorySegment dst = HugePages.allocate((long) tiles * blocks * blockOut, Arena.ofAuto());
        long rowBytes = (long) blocks * blockIn;
        Parallel.forRange(tiles, 1, (t0, t1) -> {
            byte[] row = new byte[(int) rowBytes];
            byte[] tile = new byte[blocks * blockOut];
            for (int t = t0; t < t1; t++) {
                java.util.Arrays.fill(tile, (byte) 0);
                for (int i = 0; i < R && t * R + i < rows; i++) {
                    MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (t * R + i) * rowBytes, row, 0, row.length);
                    int lane = lane(i);
                    int at = bytesInLaneOrder ? lane : i;
                    for (int b = 0; b < blocks; b++) {
                        int s = b * blockIn;
                        int o = b * blockOut;
                        tile[o + 2 * lane] = row[s];
                        tile[o + 2 * lane + 1] = row[s + 1];
                        for (int j = 0; j < quantBytes; j++) {
                            tile[o + 2 * R + j * R + at] = row[s + 2 + j];
                        }
                    }
                }
                MemorySegment.copy(tile, 0, dst, ValueLayout.JAVA_BYTE, (long) t * tile.length, tile.length);
            }
        });
        if (src.isMapped()) {
            src.unload();
        }
        return dst;
    }
}
