package dev.owl2j.model.cpu;

import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * A plain, multi-threaded y = W·x over an F32, F16 or BF16 weight matrix kept in its stored dtype. Blocks of
 * rows are widened to float once and then reused against every input vector, so a prefill of n tokens reads
 * the weights once. The tuned kernels in {@code dev.owl2j.model.cpu.kernel} replace it for speed; this one is
 * the dependable default for tests and small models.
 */
public final class SimpleLinear implements Linear {
    private static final int ROW_BLOCK = 16;

    private final Tensor w;
    private final int rows;
    private final int cols;

    public SimpleLinear(Tensor w) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException(w.name() + " is not a matrix: " + w.shapeString());
        }
        if (w.dtype() != DType.F32 && w.dtype() != DType.F16 && w.dtype() != DType.BF16) {
            throw new IllegalArgumentException(w.name() + ": SimpleLinear handles F32/F16/BF16, not " + w.dtype());
        }
        this.w = w;
        this.rows = Math.toIntExact(w.dim(0));
        this.cols = Math.toIntExact(w.dim(1));
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
    public void matvec(float[] x, int xOff, float[] y, int yOff) {
        multiply(x, xOff, 1, y, yOff);
    }

    @Override
    public void matmul(float[] x, int n, float[] y) {
        multiply(x, 0, n, y, 0);
    }

    private void multiply(float[] x, int xOff, int n, float[] y, int yOff) {
        int blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
        // Aim for chunks of ~64k multiply-adds so tiny matrices stay on the calling thread.
        int minBlocks = Math.max(1, (1 << 16) / Math.max(1, ROW_BLOCK * cols * n));
        Parallel.forRange(blocks, minBlocks, (start, end) -> {
            float[] block = new float[ROW_BLOCK * cols];
            for (int b = start; b < end; b++) {
                int r0 = b * ROW_BLOCK;
                int nr = Math.min(ROW_BLOCK, rows - r0);
                for (int r = 0; r < nr; r++) {
                    widenRow(r0 + r, block, r * cols);
                }
                for (int i = 0; i < n; i++) {
                    int xi = xOff + i * cols;
                    int yi = yOff + i * rows + r0;
                    for (int r = 0; r < nr; r++) {
                        y[yi + r] = Ops.dot(block, r * cols, x, xi, cols);
                    }
                }
            }
        });
    }

    private void widenRow(int row, float[] out, int outOff) {
        MemorySegment data = w.data();
        long base = (long) row * cols;
        switch (w.dtype()) {
            case F32 -> MemorySegment.copy(data, Tensor.F32_LE, base * 4, out, outOff, cols);
            case F16 -> {
                for (int c = 0; c < cols; c++) {
                    out[outOff + c] = Float.float16ToFloat(data.get(Tensor.I16_LE, (base + c) * 2));
                }
            }
            case BF16 -> {
                for (int c = 0; c < cols; c++) {
                    out[outOff + c] = Float.intBitsToFloat((data.get(Tensor.I16_LE, (base + c) * 2) & 0xffff) << 16);
                }
            }
            default -> throw new IllegalStateException(w.dtype().toString());
        }
    }

    @Override
    public long byteSize() {
        return w.data().byteSize();
    }
}
