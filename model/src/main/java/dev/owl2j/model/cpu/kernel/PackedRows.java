package dev.owl2j.model.cpu.kernel;

/**
 * X rows of a batched decode step, interleaved for the blocked kernels: the rows are cut into groups of
 * {@link #WIDE} (or 4 for a short last group), and inside a group each run of L columns holds the group's rows
 * one after another. The kernel's X vectors for one K step then lie at fixed distances from a single index
 * (row i of the group at {@code start + c·width + i·L} for a column c that is a multiple of L), where separate
 * rows needed one index register per row. On the 2-vCPU AVX-512 machine, 7B Q4_0, 16 sessions
 * ({@code DecodeStepBench --batches 16 --context 70}): 1.32-1.37 s per step with four separate rows, 1.03 s with
 * eight interleaved rows (the kernel's loop had spilled row offsets and loop counters to the stack and
 * through vector registers).
 *
 * <p>Columns are padded with zeros to a multiple of L; the copy starts on a 64-byte boundary where
 * {@link AlignedRows} can see addresses, and every group's length is a multiple of 64 bytes, so every X vector
 * load is aligned.
 */
final class PackedRows {
    /**
     * Rows per group: eight with 512-bit vectors (sixteen accumulators plus the widened weights fit the 32 vector
     * registers), four with 256-bit vectors (16 registers; eight rows spilled: 2.74 s against 2.50-2.61 s per step
     * for four, same benchmark with {@code -XX:UseAVX=2}).
     */
    static final int WIDE = VectorLinear.L == 16 ? 8 : 4;

    private PackedRows() {}

    /** The packed copy: group g holds rows [first(g), first(g) + width(g)) at data[start(g) ..]. */
    record Groups(float[] data, int[] start, int[] first, int[] width) {
        int count() {
            return start.length;
        }
    }

    /**
     * Packs rows [0, n) of x (each cols floats, back to back) in groups of {@code wide} (8 or 4) rows, the last
     * group 4 wide where at most 4 rows are left. A group narrower than its width (the last one) repeats row
     * n − 1 in its unused slots; the caller drops those sums.
     */
    static Groups pack(float[] x, int n, int cols, int wide) {
        int padded = (cols + VectorLinear.L - 1) / VectorLinear.L * VectorLinear.L;
        int count = 0;
        for (int g = 0; g < n; g += groupWidth(n - g, wide)) {
            count++;
        }
        int[] first = new int[count];
        int[] width = new int[count];
        int[] start = new int[count];
        int total = 0;
        for (int i = 0, g = 0; i < count; i++) {
            first[i] = g;
            width[i] = groupWidth(n - g, wide);
            start[i] = total;
            total += padded * width[i];
            g += width[i];
        }
        float[] data = new float[total + 16];
        int base = alignedStart(data);
        for (int i = 0; i < count; i++) {
            start[i] += base;
            for (int r = 0; r < width[i]; r++) {
                int src = Math.min(first[i] + r, n - 1) * cols;
                int dst = start[i] + r * VectorLinear.L;
                for (int c = 0; c < cols; c += VectorLinear.L) {
                    System.arraycopy(x, src + c, data, dst + c * width[i], Math.min(VectorLinear.L, cols - c));
                }
            }
        }
        return new Groups(data, start, first, width);
    }

    /** Width of the group that starts with {@code left} rows still to place. */
    private static int groupWidth(int left, int wide) {
        return left > 4 ? wide : 4;
    }

    /** Index of the first 64-byte boundary in data's first 16 floats, or 0 where the address is unknown. */
    private static int alignedStart(float[] data) {
        if (!AlignedRows.ENABLED) {
            return 0;
        }
        long address = AlignedRows.address(data);
        if (address < 0 || (address & 3) != 0) {
            return 0;
        }
        return (int) (((64 - (address & 63)) & 63) / 4);
    }
}
