package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.tensor.Tensor;


/**
 * y = W·x in plain Java loops for small float matrices (F32, F16, BF16), which {@link Linears#of} picks by
 * {@code owl2j.smallMatrixCols} ({@link Linears#isSmall}): the embedded default model's and the test fixtures'
 * matrices, never a real mPLUG-Owl2 matrix.
 *
 * <p>Why a second path: a short command on a tiny model is over before the JIT's optimising compiler (C2) has
 * compiled the Vector API kernels, and until then the interpreter and C1 run them through the Vector API's Java
 * fallbacks, where every vector operation allocates and calls through lambdas: a one-token run of the default model
 * spent most of its time there (docs/startup.md). These loops are what the interpreter and C1 run well, and for rows
 * this short the vector kernels' advantage once compiled is small in absolute terms (the figures are in
 * docs/startup.md).
 *
 * <p>The weights are widened once, at load, into a float array of this object's own (rows × cols × 4 bytes: 8 MiB
 * for the default model's 32000 × 64 lm_head), so no call reads the stored dtype through a memory segment.
 */
final class SmallLinear implements Linear {
    private final float[] w;
    private final int rows;
    private final int cols;

    SmallLinear(Tensor t) {
        this.rows = Math.toIntExact(t.dim(0));
        this.cols = Math.toIntExact(t.dim(1));
        Math.multiplyExact(rows, cols); // one float[] holds them all
        this.w = widen(t);
    }

    private static float[] widen(Tensor t) {
        return switch (t.dtype()) {
            case F32, F16, BF16 -> t.toFloatArray();
            default -> throw new IllegalArgumentException(t.name() + " is " + t.dtype() + ", not F32, F16 or BF16");
        };
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    /** The widened copy this kernel holds. */
    @Override
    public long byteSize() {
        return (long) w.length * 4;
    }

    @Override
    public void matvec(float[] x, int xOff, float[] y, int yOff) {
        // ~32k multiply-adds per chunk at least, as the vector kernels: tiny matrices stay on the calling thread
        Parallel.forRange(rows, Math.max(1, (1 << 15) / cols), (start, end) -> {
            for (int r = start; r < end; r++) {
                y[yOff + r] = dot(w, r * cols, x, xOff, cols);
            }
        });
    }

    /** Each weight row (short, so it stays in L1) against every row of X. */
    @Override
    public void matmul(float[] x, int n, float[] y) {
        if (n == 1) {
            matvec(x, 0, y, 0);
            return;
        }
        Parallel.forRange(rows, Math.max(1, (1 << 15) / (cols * n)), (start, end) -> {
            for (int r = start; r < end; r++) {
                int wOff = r * cols;
                for (int i = 0; i < n; i++) {
                    y[i * rows + r] = dot(w, wOff, x, i * cols, cols);
                }
            }
        });
    }

    /** Σ w[wOff + c]·x[xOff + c] over c < len, in four partial sums (shorter dependency chains once compiled). */
    static float dot(float[] w, int wOff, float[] x, int xOff, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int c = 0;
        for (; c + 3 < len; c += 4) {
            s0 += w[wOff + c] * x[xOff + c];
            s1 += w[wOff + c + 1] * x[xOff + c + 1];
            s2 += w[wOff + c + 2] * x[xOff + c + 2];
            s3 += w[wOff + c + 3] * x[xOff + c + 3];
        }
        for (; c < len; c++) {
            s0 += w[wOff + c] * x[xOff + c];
        }
        return (s0 + s1) + (s2 + s3);
    }
}
