package dev.owl2j.model.cpu;

import dev.owl2j.model.host.RopeTables;

/**
 * Rotary position embedding in the LLaMA / GPT-NeoX rotate-half convention (docs/model.md, RoPE), on the weights as stored: element i
 * of the first half pairs with element i + headDim/2. cos/sin tables are computed in double and stored as
 * float, grown on demand as positions advance.
 */
final class Rope {
    private final int half;
    private final double theta;
    private volatile float[][] tables = {new float[0], new float[0]}; // {cos, sin}, [positions, half]

    Rope(int headDim, double theta) {
        this.half = headDim / 2;
        this.theta = theta;
    }

    /** Makes the tables cover positions [0, positions). Call before rotating in parallel. */
    synchronized void ensure(int positions) {
        int have = tables[0].length / half;
        if (positions <= have) {
            return;
        }
        int size = Math.max(positions, Math.max(64, have * 2));
        tables = RopeTables.compute(2 * half, theta, size);
    }

    /** Rotates one head vector x[off .. off+headDim) in place for this position: x·cos + rotate_half(x)·sin. */
    void rotate(float[] x, int off, int position) {
        float[][] t = tables;
        float[] cos = t[0];
        float[] sin = t[1];
        int base = position * half;
        for (int i = 0; i < half; i++) {
            float c = cos[base + i];
            float s = sin[base + i];
            float x0 = x[off + i];
            float x1 = x[off + half + i];
            x[off + i] = x0 * c - x1 * s;
            x[off + half + i] = x1 * c + x0 * s;
        }
    }
}
