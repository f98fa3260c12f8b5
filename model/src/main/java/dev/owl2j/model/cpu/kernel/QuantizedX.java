package dev.owl2j.model.cpu.kernel;

/**
 * Activation rows quantized to Q8_0 blocks for the integer kernels ({@link Q4Tiles}), exactly as ggml's
 * {@code quantize_row_q8_0_ref} does it (and {@link dev.owl2j.model.tensor.Quantizer} for weights): per block of
 * 32, d = amax/127, q = roundf(x·(1/d)) (halfway cases away from zero), d then rounded to F16. The values are kept
 * as 16-bit ints (the kernels broadcast them into 16-bit lanes), with each block's F16-rounded scale as a float and
 * the sum of its 32 values (for the −8 of Q4_0's weights).
 *
 * @param values n·cols quantized values in [−127, 127], row after row
 * @param scales n·cols/32 block scales
 * @param sums   n·cols/32 sums of each block's values
 */
record QuantizedX(short[] values, float[] scales, int[] sums) {
    /** Rows [0, n) of cols floats each, starting at x[xOff]; cols is a multiple of 32. */
    static QuantizedX of(float[] x, int xOff, int n, int cols) {
        int blocks = cols / 32;
        short[] q = new short[n * cols];
        float[] d = new float[n * blocks];
        int[] s = new int[n * blocks];
        // prefill rows are split over the threads in chunks of 32 or more; decode rows (at most 24) stay on the caller
        dev.owl2j.model.cpu.Parallel.forRange(n, 32, (r0, r1) -> quantizeRows(x, xOff, cols, r0, r1, q, d, s));
        return new QuantizedX(q, d, s);
    }

    private static void quantizeRows(float[] x, int xOff, int cols, int r0, int r1, short[] q, float[] d, int[] s) {
        int blocks = cols / 32;
        for (int r = r0; r < r1; r++) {
            for (int b = 0; b < blocks; b++) {
                int o = r * cols + b * 32;
                int src = xOff + o;
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(x[src + j]));
                }
                float scale = amax / 127;
                float id = scale != 0 ? 1 / scale : 0;
                int sum = 0;
                for (int j = 0; j < 32; j++) {
                    int v = roundHalfAway(x[src + j] * id);
                    q[o + j] = (short) v;
                    sum += v;
                }
                d[r * blocks + b] = Float.float16ToFloat(Float.floatToFloat16(scale));
                s[r * blocks + b] = sum;
            }
        }
    }

    /** C's roundf: nearest integer, halfway cases away from zero (a − floor(a) is exact for floats). */
    private static int roundHalfAway(float v) {
        float a = Math.abs(v);
        int f = (int) a;
        if (a - f >= 0.5f) {
            f++;
        }
        return v < 0 ? -f : f;
    }
}
