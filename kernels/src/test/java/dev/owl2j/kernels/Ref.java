package dev.owl2j.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Plain-Java references, random data, weight packing (own small quantizer) and the every-element comparison. */
final class Ref {
    private Ref() {}

    static float[] random(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (r.nextFloat() * 2 - 1) * scale;
        return a;
    }

    /** A packed weight matrix and the float values the device must see (after rounding / quantization). */
    record Packed(byte[] bytes, float[] values) {}

    static Packed pack(WeightType t, float[] w, int rows, int cols) {
        ByteBuffer b = ByteBuffer.allocate((int) t.bytes(rows, cols)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[w.length];
        switch (t) {
            case F32 -> {
                for (int i = 0; i < w.length; i++) { b.putFloat(w[i]); v[i] = w[i]; }
            }
            case F16 -> {
                for (int i = 0; i < w.length; i++) {
                    short h = Float.floatToFloat16(w[i]);
                    b.putShort(h);
                    v[i] = Float.float16ToFloat(h);
                }
            }
            case BF16 -> {
                for (int i = 0; i < w.length; i++) {
                    short h = (short) (Float.floatToRawIntBits(w[i]) >>> 16); // truncation is a valid bf16 value
                    b.putShort(h);
                    v[i] = Float.intBitsToFloat((h & 0xffff) << 16);
                }
            }
            case Q8_0 -> {
                for (int blk = 0; blk < w.length / 32; blk++) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(w[blk * 32 + j]));
                    short dh = Float.floatToFloat16(amax / 127f);
                    float d = Float.float16ToFloat(dh);
                    b.putShort(dh);
                    for (int j = 0; j < 32; j++) {
                        int q = d == 0 ? 0 : Math.max(-127, Math.min(127, Math.round(w[blk * 32 + j] / d)));
                        b.put((byte) q);
                        v[blk * 32 + j] = q * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int blk = 0; blk < w.length / 32; blk++) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(w[blk * 32 + j]));
                    short dh = Float.floatToFloat16(amax / 8f);
                    float d = Float.float16ToFloat(dh);
                    b.putShort(dh);
                    int[] q = new int[32];
                    for (int j = 0; j < 32; j++) {
                        q[j] = d == 0 ? 8 : Math.max(0, Math.min(15, Math.round(w[blk * 32 + j] / d) + 8));
                        v[blk * 32 + j] = (q[j] - 8) * d;
                    }
                    for (int j = 0; j < 16; j++) b.put((byte) (q[j] | (q[j + 16] << 4)));
                }
            }
        }
        return new Packed(b.array(), v);
    }

    static void assertClose(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (!(d <= max)) {
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                worst = i;
            }
        }
        if (!(max <= tol)) {
            fail(String.format("%s: max abs error %.3e at %d (expected %s, got %s) > %.1e", what, max, worst,
                    expected[worst], actual[worst], tol));
        }
    }

    /** y[t, r] = W[r,:]·x[t,:] in double. */
    static float[] linear(float[] w, float[] x, int rows, int cols, int n) {
        float[] y = new float[n * rows];
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double) w[r * cols + c] * x[t * cols + c];
                y[t * rows + r] = (float) s;
            }
        }
        return y;
    }
}
