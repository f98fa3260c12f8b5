package dev.owl2j.model.cpu;

/**
 * A weight matrix W of shape [rows = out_features, cols = in_features] (PyTorch layout), stored in any dtype,
 * that computes y = W·x. Implementations exist per storage type (F32, F16, BF16, Q8_0, Q4_0); the model code
 * only sees this interface, so quantization and kernel tuning never touch the architecture files.
 */
public interface Linear {
    int rows();

    int cols();

    /** y[yOff .. yOff+rows) = W · x[xOff .. xOff+cols). */
    void matvec(float[] x, int xOff, float[] y, int yOff);

    /**
     * Y = X · Wᵀ for n row vectors: x is [n, cols] row-major, y is [n, rows] row-major.
     * The default loops over matvec; fast implementations tile over rows and n.
     */
    default void matmul(float[] x, int n, float[] y) {
        for (int i = 0; i < n; i++) {
            matvec(x, i * cols(), y, i * rows());
        }
    }

    /** Bytes the weights occupy (for bandwidth figures and memory reports). */
    long byteSize();
}
