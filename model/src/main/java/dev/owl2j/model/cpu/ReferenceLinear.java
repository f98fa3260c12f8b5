package dev.owl2j.model.cpu;

import dev.owl2j.model.tensor.Tensor;

/**
 * Scalar, obviously-correct y = W·x over any float tensor (widening element by element). Used as the
 * oracle in kernel tests and as the fallback where no fast kernel exists. Not for production speed.
 */
public final class ReferenceLinear implements Linear {
    private final Tensor w;
    private final int rows;
    private final int cols;

    public ReferenceLinear(Tensor w) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException(w.name() + " is not a matrix: " + w.shapeString());
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
        for (int r = 0; r < rows; r++) {
            double acc = 0;
            long base = (long) r * cols;
            for (int c = 0; c < cols; c++) {
                acc += (double) w.getFloat(base + c) * x[xOff + c];
            }
            y[yOff + r] = (float) acc;
        }
    }

    @Override
    public long byteSize() {
        return w.data().byteSize();
    }
}
