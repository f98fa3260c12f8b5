package dev.owl2j.model.host;

/**
 * The abstractor's fixed sin-cos position tables (docs/model.md, Abstractor), which the release checkpoint does not store.
 * The reference builds them in float32 (MAE style); each step below rounds to float like that computation,
 * so the result equals the buffers a float32 build writes.
 */
public final class SinCosPositions {
    private SinCosPositions() {}

    /** Pq: row n = S(dim, n) for n in [0, count), [count, dim]. */
    public static float[] queryTable(int dim, int count) {
        float[] out = new float[count * dim];
        for (int n = 0; n < count; n++) {
            write(dim, n, out, n * dim);
        }
        return out;
    }

    /**
     * Pk: [1 + grid², dim]; row 0 (CLS) zero, row 1 + r·grid + c = [S(dim/2, c), S(dim/2, r)] — the column
     * (x) index fills the first half, the row index the second.
     */
    public static float[] keyTable(int dim, int grid) {
        int half = dim / 2;
        float[] out = new float[(1 + grid * grid) * dim];
        for (int r = 0; r < grid; r++) {
            for (int c = 0; c < grid; c++) {
                int off = (1 + r * grid + c) * dim;
                write(half, c, out, off);
                write(half, r, out, off + half);
            }
        }
        return out;
    }

    /** S(dim, p) = [sin(p·ω_0..), cos(p·ω_0..)] with ω_i = 10000^(−i/(dim/2)), rounded to float at each step. */
    private static void write(int dim, int p, float[] out, int off) {
        int half = dim / 2;
        for (int i = 0; i < half; i++) {
            float exponent = (float) i / (float) half;
            float omega = (float) (1.0 / (float) Math.pow(10000.0, exponent));
            float angle = (float) p * omega;
            out[off + i] = (float) Math.sin(angle);
            out[off + half + i] = (float) Math.cos(angle);
        }
    }
}
