package dev.owl2j.model.cpu.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

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
    private static final VectorSpecies<Float> F = VectorLinear.F;
    private static final int L = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Shorts as many as F has floats (half its width), for storing a block's rounded values. */
    private static final VectorSpecies<Short> HALF = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    /** Vector code needs whole vectors per block of 32 (always so on x86; the scalar code covers the rest). */
    private static final boolean VECTOR = 32 % L == 0;

    /** Rows [0, n) of cols floats each, starting at x[xOff]; cols is a multiple of 32. */
    static QuantizedX of(float[] x, int xOff, int n, int cols) {
        int blocks = cols / 32;
        short[] q = new short[n * cols];
        float[] d = new float[n * blocks];
        int[] s = new int[n * blocks];
        // prefill rows are split over the threads in chunks of 32 or more; decode rows (at most 24) stay on the caller
        dev.owl2j.model.cpu.Parallel.forRange(n, 32, (r0, r1) -> quantizeRows(x, xOff, cols, r0, r1, q, d, s, VECTOR));
        return new QuantizedX(q, d, s);
    }

    /**
     * Rows [r0, r1) into q, d and s, block by block. With {@code vector}, a block's amax, scaling and rounding run as
     * vector code (prefill quantizes 128 rows of 4096 or 11008 values per matrix; one value at a time that took 7 %
     * of the integer prefill), with the same float operations as {@link #roundHalfAway} lane by lane, so the values
     * equal the scalar code's (which the tests use as the reference).
     */
    static void quantizeRows(float[] x, int xOff, int cols, int r0, int r1, short[] q, float[] d, int[] s, boolean vector) {
        int blocks = cols / 32;
        for (int r = r0; r < r1; r++) {
            for (int b = 0; b < blocks; b++) {
                int o = r * cols + b * 32;
                int src = xOff + o;
                float scale = (vector ? amaxVector(x, src) : amaxScalar(x, src)) / 127;
                float id = scale != 0 ? 1 / scale : 0;
                s[r * blocks + b] = vector ? roundVector(x, src, id, q, o) : roundScalar(x, src, id, q, o);
                d[r * blocks + b] = Float.float16ToFloat(Float.floatToFloat16(scale));
            }
        }
    }

    private static float amaxVector(float[] x, int src) {
        FloatVector amax = FloatVector.fromArray(F, x, src).abs();
        for (int j = L; j < 32; j += L) {
            amax = amax.max(FloatVector.fromArray(F, x, src + j).abs());
        }
        return amax.reduceLanes(VectorOperators.MAX);
    }

    private static float amaxScalar(float[] x, int src) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[src + j]));
        }
        return amax;
    }

    /** q[o .. o + 32) = the block at x[src] times id, rounded half away from zero; returns their sum. */
    private static int roundVector(float[] x, int src, float id, short[] q, int o) {
        int sum = 0;
        for (int j = 0; j < 32; j += L) {
            FloatVector v = FloatVector.fromArray(F, x, src + j).mul(id);
            FloatVector a = v.abs();
            IntVector f = (IntVector) a.convert(VectorOperators.F2I, 0);
            // a − f is exact, as in roundHalfAway; halfway and above rounds up, then the sign comes back
            f = f.add(1, a.sub((FloatVector) f.convert(VectorOperators.I2F, 0)).compare(VectorOperators.GE, 0.5f).cast(I));
            f = f.lanewise(VectorOperators.NEG, v.compare(VectorOperators.LT, 0).cast(I));
            sum += f.reduceLanes(VectorOperators.ADD);
            ((ShortVector) f.convertShape(VectorOperators.I2S, HALF, 0)).intoArray(q, o + j);
        }
        return sum;
    }

    private static int roundScalar(float[] x, int src, float id, short[] q, int o) {
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int v = roundHalfAway(x[src + j] * id);
            q[o + j] = (short) v;
            sum += v;
        }
        return sum;
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
