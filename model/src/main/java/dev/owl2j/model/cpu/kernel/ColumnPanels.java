package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.Settings;
import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Function;

/**
 * A matrix with long rows (more than {@link #MAX_COLS} columns: the decoder's down_proj, 11008) stored as column
 * panels, each a matrix of its own with rows of at most MAX_COLS columns: y = Σ_p W_p · x_p.
 *
 * <p>Why: the decode matvec streams the weights once from DRAM and reads x once per row. On the 2-core EPYC the
 * streaming rate falls off a cliff as soon as x is longer than 4096 floats (16 KiB): one thread, Q8_0, 7B-sized
 * sequences of matrices: 21.9 GB/s at 4096 columns, 7.4 GB/s at 4160 and at 11008 (F16 22.6 against 7.3; AVX2 the
 * same). Walking the stored rows panel by panel in place (x's slice stays small, the weights are read in
 * pieces) was no faster; separate panels, each read front to back, are: 4096x11008 Q8_0 as three 4096x3680 panels,
 * 23.7 GB/s on one thread and 35.6 on two, against 15.7 for the one matrix. The panels are copies: for weights in
 * a mapped file the source pages are released after the copy (they would otherwise stay resident as well).
 */
final class ColumnPanels implements Linear {
    /**
     * Longest panel row in columns: system property {@code owl2j.panelCols}; 0 keeps every matrix whole.
     */
    static final int MAX_COLS = Settings.fromSystem().panelCols();

    private final Linear[] panels;
    /** First column of each panel, and cols at the end. */
    private final int[] starts;
    private final int rows;
    private final int cols;

    private ColumnPanels(Linear[] panels, int[] starts, int rows) {
        this.panels = panels;
        this.starts = starts;
        this.rows = rows;
        this.cols = starts[panels.length];
    }

    /** Whether w has rows long enough to split, in a format that can be split on 32-column boundaries. */
    static boolean wanted(Tensor w, int maxCols) {
        if (maxCols <= 0 || w.rank() != 2 || w.dim(1) <= maxCols || w.dim(1) % 32 != 0) {
            return false;
        }
        return switch (w.dtype()) {
            case F32, F16, BF16, Q8_0, Q4_0 -> true;
            default -> false;
        };
    }

    /**
     * w split into panels of at most maxCols columns (equal widths, multiples of 32), each made a kernel by
     * kernel. Releases w's pages afterwards when w is a view of a mapped file.
     */
    static Linear split(Tensor w, int maxCols, Function<Tensor, Linear> kernel) {
        int rows = Math.toIntExact(w.dim(0));
        int cols = Math.toIntExact(w.dim(1));
        int count = (cols + maxCols - 1) / maxCols;
        int width = ((cols + count - 1) / count + 31) / 32 * 32;
        count = (cols + width - 1) / width;
        int[] starts = new int[count + 1];
        Linear[] panels = new Linear[count];
        long rowBytes = w.dtype().bytesFor(cols);
        for (int p = 0; p < count; p++) {
            int c0 = p * width;
            int c1 = Math.min(cols, c0 + width);
            starts[p] = c0;
            long from = w.dtype().bytesFor(c0);
            long panelRowBytes = w.dtype().bytesFor(c1 - c0);
            MemorySegment panel = HugePages.allocate(panelRowBytes * rows, Arena.ofAuto());
            for (long r = 0; r < rows; r++) {
                MemorySegment.copy(w.data(), r * rowBytes + from, panel, r * panelRowBytes, panelRowBytes);
            }
            panels[p] = kernel.apply(new Tensor(w.name(), w.dtype(), new long[]{rows, c1 - c0}, panel));
        }
        starts[count] = cols;
        if (w.data().isMapped()) {
            w.data().unload();
        }
        return new ColumnPanels(panels, starts, rows);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public long byteSize() {
        long bytes = 0;
        for (Linear p : panels) {
            bytes += p.byteSize();
        }
        return bytes;
    }

    @Override
    public void matvec(float[] x, int xOff, float[] y, int yOff) {
        panels[0].matvec(x, xOff + starts[0], y, yOff);
        float[] part = new float[rows];
        for (int p = 1; p < panels.length; p++) {
            panels[p].matvec(x, xOff + starts[p], part, 0);
            for (int r = 0; r < rows; r++) {
                y[yOff + r] += part[r];
            }
        }
    }

    @Override
    public void matmul(float[] x, int n, float[] y) {
        float[] part = new float[n * rows];
        for (int p = 0; p < panels.length; p++) {
            int c0 = starts[p];
            int width = starts[p + 1] - c0;
            float[] xp = new float[n * width];
            for (int i = 0; i < n; i++) {
                System.arraycopy(x, i * cols + c0, xp, i * width, width);
            }
            panels[p].matmul(xp, n, p == 0 ? y : part);
            if (p > 0) {
                for (int i = 0; i < n * rows; i++) {
                    y[i] += part[i];
                }
            }
        }
    }
}
