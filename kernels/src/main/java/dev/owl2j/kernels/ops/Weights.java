package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.ByteArray;
import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.ShortArray;

/**
 * One work-item's share of the dot product of weight row r with x (columns lid, lid + RED, ...), per storage
 * type. Quantized layouts are llama.cpp's: Q8_0 blocks of 32 weights = F16 scale d then 32 int8 (34 bytes), Q4_0
 * = F16 scale then 16 bytes whose low nibbles are weights 0..15 and high nibbles 16..31, each nibble - 8.
 * BF16 is the upper half of a float.
 */
final class Weights {
    private Weights() {}

    static final int RED = Reductions.RED;
    static final int Q8_BYTES = 34, Q4_BYTES = 18, BLOCK = 32;

    static float rowDotF32(FloatArray w, int r, int cols, FloatArray x, int xBase, int lid) {
        int wr = r * cols;
        float s = 0.0f;
        for (int c = lid; c < cols; c += RED) s += w.get(wr + c) * x.get(xBase + c);
        return s;
    }

    static float rowDotF16(ShortArray w, int r, int cols, FloatArray x, int xBase, int lid) {
        int wr = r * cols;
        float s = 0.0f;
        for (int c = lid; c < cols; c += RED) s += Float.float16ToFloat(w.get(wr + c)) * x.get(xBase + c);
        return s;
    }

    static float rowDotBF16(ShortArray w, int r, int cols, FloatArray x, int xBase, int lid) {
        int wr = r * cols;
        float s = 0.0f;
        for (int c = lid; c < cols; c += RED) s += Float.intBitsToFloat(w.get(wr + c) << 16) * x.get(xBase + c);
        return s;
    }

    static float rowDotQ8_0(ByteArray w, int r, int cols, FloatArray x, int xBase, int lid) {
        int nb = cols / BLOCK;
        int row = r * nb * Q8_BYTES;
        float s = 0.0f;
        for (int b = lid; b < nb; b += RED) {
            int blk = row + b * Q8_BYTES;
            float d = Float.float16ToFloat(w.getShort(blk));
            int xb = xBase + b * BLOCK;
            float a = 0.0f;
            for (int j = 0; j < BLOCK; j++) a += (float) w.get(blk + 2 + j) * x.get(xb + j);
            s += d * a;
        }
        return s;
    }

    static float rowDotQ4_0(ByteArray w, int r, int cols, FloatArray x, int xBase, int lid) {
        int nb = cols / BLOCK;
        int row = r * nb * Q4_BYTES;
        float s = 0.0f;
        for (int b = lid; b < nb; b += RED) {
            int blk = row + b * Q4_BYTES;
            float d = Float.float16ToFloat(w.getShort(blk));
            int xb = xBase + b * BLOCK;
            float a = 0.0f;
            for (int j = 0; j < 16; j++) {
                int v = w.get(blk + 2 + j) & 0xff;
                a += (float) ((v & 15) - 8) * x.get(xb + j) + (float) ((v >> 4) - 8) * x.get(xb + j + 16);
            }
            s += d * a;
        }
        return s;
    }
}
