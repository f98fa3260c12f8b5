package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.lang.ByteArray;
import dev.owl2j.kernels.lang.DoubleArray;
import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.IntArray;
import dev.owl2j.kernels.lang.KernelContext;
import dev.owl2j.kernels.lang.LongArray;
import dev.owl2j.kernels.lang.ShortArray;

/**
 * Kernels that exercise the language: control flow of every shape javac produces, ternaries, short-circuit
 * conditions, integer and floating semantics, conversions, bit operations, F16/BF16/byte access, private and
 * local arrays with barriers, helper functions, getSize. LanguageTest runs each on the JVM backend and on OpenCL
 * and compares them element by element.
 */
public final class LanguageKernels {
    private LanguageKernels() {}

    static final int GROUP = 32;

    /** Integer arithmetic, shifts (masked counts, >>>), division and remainder of negatives, narrowing casts. */
    public static void integers(KernelContext ctx, IntArray a, IntArray b, IntArray out, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        int x = a.get(i), y = b.get(i);
        int s = y & 63; // shift counts up to 63: Java masks to 5 bits
        int r = (x << s) ^ (x >> s) ^ (x >>> s);
        int d = y == 0 ? 0 : x / y + x % y;
        r = r * 31 + d;
        r += (byte) x + (short) y + (char) (x ^ y);
        r ^= ~x;
        r -= Math.abs(y) + Math.min(x, y) + Math.max(x, y) + Integer.numberOfLeadingZeros(x) + Integer.bitCount(y);
        out.set(i, r);
    }

    /** 64-bit integers and their conversions. */
    public static void longs(KernelContext ctx, LongArray a, IntArray b, LongArray out, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        long x = a.get(i);
        int y = b.get(i);
        long r = x * 0x9E3779B97F4A7C15L + y;
        r ^= r >>> 29;
        r ^= (r << (y & 127)) + (x >> 7);
        r += Integer.toUnsignedLong(y) + (long) (int) x + (y == 0 ? 0 : x / y) + (y == 0 ? 0 : x % y);
        out.set(i, r + Long.numberOfLeadingZeros(x) + Long.bitCount(r) + Math.min(x, r));
    }

    /** Float arithmetic, comparisons with NaN, conversions both ways (saturating), Math in single precision. */
    public static void floats(KernelContext ctx, FloatArray a, FloatArray b, FloatArray out, IntArray ints, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        float x = a.get(i), y = b.get(i);
        float r = x * y + x / (y == 0 ? 1 : y) - x % (y == 0 ? 1 : y);
        if (x < y) r += 1;
        if (!(x >= y)) r += 2; // true for NaN
        if (x != x) r = -7;
        r += Math.abs(x) + Math.max(x, y) + Math.min(x, y) + (float) Math.sqrt(Math.abs(y));
        r += (float) Math.exp(x * 0.1f) + (float) Math.tanh(y) + Math.fma(x, y, 1f) + (float) Math.floor(x) + (float) Math.rint(y);
        int k = (int) (x * 1e9f); // saturates
        long l = (long) (y * 1e19f);
        out.set(i, r);
        ints.set(2 * i, k);
        ints.set(2 * i + 1, (int) (l >> 32) ^ (int) l ^ (Float.isNaN(x) ? 1 : 0) ^ Float.floatToRawIntBits(y));
    }

    /** Doubles, as a kernel that accumulates in double would use them. */
    public static void doubles(KernelContext ctx, DoubleArray a, FloatArray b, DoubleArray out, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        double x = a.get(i);
        double r = x * b.get(i) + Math.exp(x / 4) + Math.sqrt(Math.abs(x)) - Math.log(1 + Math.abs(x));
        long bits = Double.doubleToRawLongBits(r);
        out.set(i, r + Double.longBitsToDouble(bits ^ 1L) + (double) (float) x);
    }

    /** F16 and BF16 bits in ShortArray, bytes in ByteArray (signed and unsigned use, getShort). */
    public static void halfs(KernelContext ctx, ShortArray h, ShortArray bf, ByteArray q, FloatArray out, ShortArray hOut, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        float a = Float.float16ToFloat(h.get(i));
        float b = Float.intBitsToFloat(bf.get(i) << 16);
        float c = q.get(i) * 0.5f + (q.get(i) & 0xff) + (q.get(i) >> 4);
        float d = Float.float16ToFloat(q.getShort(2 * (i / 2)));
        short back = Float.floatToFloat16(a * 3 + b);
        out.set(i, a + b + c + d);
        hOut.set(i, back);
    }

    /** Loops: break, continue, labeled break, do-while, while(true), nested ternaries, && and ||. */
    public static void loops(KernelContext ctx, IntArray a, IntArray out, int n, int m) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        int acc = 0;
        outer:
        for (int j = 0; j < m; j++) {
            if (j % 3 == 0) continue;
            for (int k = j; k < m; k++) {
                int v = a.get((i + j * k) % n);
                if (v > 900) break outer;
                if (v < 0 || v > 500 && k > j + 2) break;
                acc += v > 100 ? (v > 300 ? 3 : 2) : v & 1;
            }
        }
        int t = i;
        do {
            t = t * 7 % 101;
            acc += t;
        } while (t > 10 && acc < 100000);
        int w = 0;
        while (true) {
            w++;
            if (w * w > i) break;
        }
        boolean both = i % 2 == 0 && acc % 3 == 1;
        boolean either = i % 5 == 0 || acc % 7 == 2;
        out.set(i, acc + w * 1000 + (both ? 1 : 0) * 100000 + (either ? 1 : 0) * 200000);
    }

    /** Private arrays, a helper with a private array parameter, and a helper returning a value. */
    public static void privates(KernelContext ctx, FloatArray x, FloatArray out, int n) {
        int i = ctx.globalIdx;
        if (i >= n) return;
        float[] acc = new float[4];
        for (int a = 0; a < acc.length; a++) acc[a] = x.get((i + a) % n);
        scaleAll(acc, 2f);
        out.set(i, sum(acc) + clampTo(acc[3], 1.5f));
    }

    static void scaleAll(float[] v, float s) {
        for (int k = 0; k < 4; k++) v[k] *= s;
    }

    static float sum(float[] v) {
        float s = 0;
        for (int k = 0; k < 4; k++) s += v[k];
        return s;
    }

    static float clampTo(float v, float limit) {
        if (v > limit) return limit;
        if (v < -limit) return -limit;
        return v;
    }

    /** A work-group tree reduction through local memory with barriers, in a helper, and a 2D launch. */
    public static void reduce(KernelContext ctx, FloatArray x, FloatArray out, IntArray sizes, int cols) {
        float[] scratch = ctx.allocateFloatLocalArray(GROUP);
        int[] positives = ctx.allocateIntLocalArray(GROUP);
        int row = ctx.groupIdy, lid = ctx.localIdx;
        float s = 0;
        int p = 0;
        for (int c = lid; c < cols; c += GROUP) {
            float v = x.get(row * cols + c);
            s += v;
            if (v > 0) p++;
        }
        positives[lid] = p;
        float total = groupSum(ctx, scratch, s, lid);
        if (lid == 0) {
            int all = 0;
            for (int k = 0; k < GROUP; k++) all += positives[k];
            out.set(row, total);
            sizes.set(row, x.getSize() + out.getSize() * 1000 + all * 1000000);
        }
    }

    static float groupSum(KernelContext ctx, float[] scratch, float v, int lid) {
        scratch[lid] = v;
        ctx.localBarrier();
        for (int s = GROUP / 2; s > 0; s >>= 1) {
            if (lid < s) scratch[lid] += scratch[lid + s];
            ctx.localBarrier();
        }
        float r = scratch[0];
        ctx.localBarrier();
        return r;
    }

    /** Work-item ids and sizes of a 2D launch. */
    public static void ids(KernelContext ctx, IntArray out) {
        int gx = ctx.globalIdx, gy = ctx.globalIdy;
        int w = ctx.globalGroupSizeX;
        int v = ctx.localIdx + 10 * ctx.localIdy + 100 * ctx.groupIdx + 1000 * ctx.groupIdy
                + 10000 * ctx.localGroupSizeX + 100000 * ctx.localGroupSizeY + 1000000 * ctx.globalGroupSizeY;
        out.set(gy * w + gx, v);
    }
}
