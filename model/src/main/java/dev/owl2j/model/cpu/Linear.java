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

    /**
     * ys[i] = X · group[i]ᵀ for matrices that read the same X ([n, cols] row-major), such as a layer's q, k and v
     * projections. Here one after another; a kernel may run a group of its own kind as one parallel pass over all
     * their rows and prepare X once ({@code Q4Tiles} quantizes a decode step's x once for the group). Call it
     * through {@link #matmulAll}.
     */
    default void matmulGroup(Linear[] group, float[] x, int n, float[][] ys) {
        for (int i = 0; i < group.length; i++) {
            group[i].matmul(x, n, ys[i]);
        }
    }

    /** ys[i] = X · group[i]ᵀ for every matrix of the group, as its first matrix's kernel runs groups. */
    static void matmulAll(Linear[] group, float[] x, int n, float[][] ys) {
        group[0].matmulGroup(group, x, n, ys);
    }

    /** Bytes the weights occupy (for bandwidth figures and memory reports). */
    long byteSize();
}
