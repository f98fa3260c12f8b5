package dev.owl2j.model.cpu.kernel;

/**
 * X rows of a batched decode step interleaved for the eight-row kernel ({@code block2x8}, 512-bit vectors): rows
 * in groups of eight, and inside a group each run of L columns holds the group's eight rows one after another.
 * The kernel's X vectors for one K step then lie at constant distances from a single index (row i of the group
 * at {@code start + c·8 + i·L} for a column c that is a multiple of L), where separate rows needed one index
 * register per row: with eight separate rows C2 kept the row offsets in stack slots and vector registers and the
 * eight-row kernel ran no faster than the four-row one. On the 2-vCPU AVX-512 machine, 7B Q4_0, 16 sessions
 * ({@code DecodeStepBench --batches 16 --context 70}): 1.31-1.70 s per step with four separate rows per group,
 * 0.94-1.12 s with eight packed rows.
 *
 * <p>Groups of eight are used while more than four rows are left; the rest (at most four) stay with the four-row
 * kernel on the rows as they are. Columns are padded with zeros to a multiple of L; the copy starts on a 64-byte
 * boundary where {@link AlignedRows} can see addresses, and each group is a whole number of 64-byte lines long.
 */
final class PackedRows {
    private PackedRows() {}

    /** The packed copy: group g (rows 8g .. 8g+7) at data[start + g·stride ..]. */
    record Groups(float[] data, int start, int stride, int count) {
        int start(int g) {
            return start + g * stride;
        }
    }

    /** Eight-row groups for n rows: one more while more than four rows are left. */
    static int groups(int n) {
        return n > 4 ? (n - 4 + 7) / 8 : 0;
    }

    /**
     * Rows [0, min(n, 8·groups(n))) of x (each cols floats, back to back) packed. The last group's slots past row
     * n − 1 repeat that row; the caller drops those sums.
     */
    static Groups pack(float[] x, int n, int cols) {
        int lanes = VectorLinear.L;
        int count = groups(n);
        int stride = (cols + lanes - 1) / lanes * lanes * 8;
        float[] data = new float[count * stride + 16];
        int start = alignedStart(data);
        for (int g = 0; g < count; g++) {
            for (int i = 0; i < 8; i++) {
                int src = Math.min(g * 8 + i, n - 1) * cols;
                int dst = start + g * stride + i * lanes;
                for (int c = 0; c < cols; c += lanes) {
                    System.arraycopy(x, src + c, data, dst + c * 8, Math.min(lanes, cols - c));
                }
            }
        }
        return new Groups(data, start, stride, count);
    }

    /** Index of the first 64-byte boundary in data's first 16 floats, or 0 where the address is unknown. */
    private static int alignedStart(float[] data) {
        long address = AlignedRows.ENABLED ? AlignedRows.address(data) : -1;
        if (address < 0 || (address & 3) != 0) {
            return 0;
        }
        return (int) (((64 - (address & 63)) & 63) / 4);
    }
}
