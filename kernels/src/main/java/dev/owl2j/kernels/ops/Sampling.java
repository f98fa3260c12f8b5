package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.DoubleArray;
import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.IntArray;
import dev.owl2j.kernels.lang.KernelContext;

import static dev.owl2j.kernels.ops.Reductions.NEG_HUGE;
import static dev.owl2j.kernels.ops.Reductions.RED;

/** Picking the next token on the device: argmax, and sampling in the host Sampler's order. */
public final class Sampling {
    private Sampling() {}

    /** Work-items of the sampling kernel's single group. */
    static final int SWG = 256;

    /** out[outIdx] = index of the largest x[xOff .. xOff+n) (lowest index on ties). One group: global RED, local RED. */
    public static void argmax(KernelContext ctx, FloatArray x, int xOff, int n, IntArray out, int outIdx) {
        float[] bestV = ctx.allocateFloatLocalArray(RED);
        int[] bestI = ctx.allocateIntLocalArray(RED);
        int lid = ctx.localIdx;
        float bv = NEG_HUGE;
        int bi = 0x7fffffff;
        for (int i = lid; i < n; i += RED) {
            float v = x.get(xOff + i);
            if (v > bv) {
                bv = v;
                bi = i;
            }
        }
        bestV[lid] = bv;
        bestI[lid] = bi;
        ctx.localBarrier();
        for (int s = RED / 2; s > 0; s >>= 1) {
            if (lid < s) {
                float ov = bestV[lid + s];
                int oi = bestI[lid + s];
                if (ov > bestV[lid] || (ov == bestV[lid] && oi < bestI[lid])) {
                    bestV[lid] = ov;
                    bestI[lid] = oi;
                }
            }
            ctx.localBarrier();
        }
        if (lid == 0) out.set(outIdx, bestI[0]);
    }

    /** Order-preserving unsigned key of a float as a long in [0, 2^32): -0 counts as +0, as the host's double comparisons do. */
    static long orderKey(float f) {
        if (f == 0.0f) f = 0.0f;
        int b = Float.floatToRawIntBits(f);
        int k = b < 0 ? ~b : b | 0x80000000;
        return k & 0xffffffffL;
    }

    /** The double whose bits are (hi, lo) (doubles travel as two ints: OpenCL 1.2 has no double arguments without fp64). */
    static double fromBits(int lo, int hi) {
        return Double.longBitsToDouble(((long) hi << 32) | (lo & 0xffffffffL));
    }

    static double swgSum(KernelContext ctx, double[] s, double v, int lid) {
        s[lid] = v;
        ctx.localBarrier();
        for (int st = SWG / 2; st > 0; st >>= 1) {
            if (lid < st) s[lid] += s[lid + st];
            ctx.localBarrier();
        }
        double r = s[0];
        ctx.localBarrier();
        return r;
    }

    static int swgCount(KernelContext ctx, int[] s, int v, int lid) {
        s[lid] = v;
        ctx.localBarrier();
        for (int st = SWG / 2; st > 0; st >>= 1) {
            if (lid < st) s[lid] += s[lid + st];
            ctx.localBarrier();
        }
        int r = s[0];
        ctx.localBarrier();
        return r;
    }

    static int swgMaxInt(KernelContext ctx, int[] s, int v, int lid) {
        s[lid] = v;
        ctx.localBarrier();
        for (int st = SWG / 2; st > 0; st >>= 1) {
            if (lid < st && s[lid + st] > s[lid]) s[lid] = s[lid + st];
            ctx.localBarrier();
        }
        int r = s[0];
        ctx.localBarrier();
        return r;
    }

    /**
     * Picks the next token from logits x[xOff .. xOff+n) exactly as the host Sampler (transformers 4.31's order):
     * temperature, top-k (ties at the k-th value kept), top-p (ascending by probability, ties by index, removing
     * while the cumulative sum is <= 1 - top_p, the most likely token always kept), softmax, and the draw "first
     * index whose running sum of probabilities exceeds u" with u from the host. Temperature 0: argmax, lowest
     * index on ties. params[pIdx ..]: temperature, top_p, u (two int words each), top_k; the token is written to
     * params[pIdx + 7]. work: n doubles of scratch. One group: global SWG, local SWG.
     *
     * <p>Instead of sorting, each threshold the host finds by sorting (the k-th largest logit, the top-p cut in
     * (probability, index) order, the draw's index) is the largest value satisfying a predicate monotone in it,
     * so it is found bit by bit, one pass of sums/counts over the vocabulary per bit. Accumulates in double, so
     * the device picks the host's token; a device without fp64 computes in float (docs/kernels.md).
     */
    public static void sample(KernelContext ctx, FloatArray x, int xOff, int n, DoubleArray work, IntArray params, int pIdx) {
        double[] ss = ctx.allocateDoubleLocalArray(SWG);
        int[] sc = ctx.allocateIntLocalArray(SWG);
        float[] sf = ctx.allocateFloatLocalArray(SWG);
        int lid = ctx.localIdx;
        double temp = fromBits(params.get(pIdx), params.get(pIdx + 1));
        double topP = fromBits(params.get(pIdx + 2), params.get(pIdx + 3));
        double u = fromBits(params.get(pIdx + 4), params.get(pIdx + 5));
        int topK = params.get(pIdx + 6);

        // the largest logit and (for greedy) its lowest index
        float bv = Float.NEGATIVE_INFINITY;
        int bi = 0x7fffffff;
        for (int i = lid; i < n; i += SWG) {
            float v = x.get(xOff + i);
            if (v > bv || bi == 0x7fffffff) {
                bv = v;
                bi = i;
            }
        }
        sf[lid] = bv;
        sc[lid] = bi;
        ctx.localBarrier();
        for (int st = SWG / 2; st > 0; st >>= 1) {
            if (lid < st) {
                float ov = sf[lid + st];
                int oi = sc[lid + st];
                if (ov > sf[lid] || (ov == sf[lid] && oi < sc[lid])) {
                    sf[lid] = ov;
                    sc[lid] = oi;
                }
            }
            ctx.localBarrier();
        }
        float maxLogit = sf[0];
        int best = sc[0];
        ctx.localBarrier();
        if (temp == 0) {
            if (lid == 0) params.set(pIdx + 7, best);
            return;
        }

        // top-k: kth = the largest key with at least k keys >= it, i.e. the k-th largest logit's key
        boolean useK = topK > 0 && topK < n;
        long kth = 0;
        if (useK) {
            for (int b = 31; b >= 0; b--) {
                long t = kth | (1L << b);
                int c = 0;
                for (int i = lid; i < n; i += SWG) c += orderKey(x.get(xOff + i)) >= t ? 1 : 0;
                if (swgCount(ctx, sc, c, lid) >= topK) kth = t;
            }
        }

        // softmax numerators of the scaled logits; -1 marks a filtered token (the max logit always survives)
        double smax = (double) maxLogit / temp;
        double part = 0;
        int keptPart = 0;
        for (int i = lid; i < n; i += SWG) {
            float v = x.get(xOff + i);
            double e = -1;
            if (!useK || orderKey(v) >= kth) {
                e = Math.exp((double) v / temp - smax);
                part += e;
                keptPart++;
            }
            work.set(i, e);
        }
        double sum = swgSum(ctx, ss, part, lid);

        if (topP < 1) {
            int kept = swgCount(ctx, sc, keptPart, lid);
            double thr = 1 - topP;
            int idxBits = 0;
            while ((1 << idxBits) < n) idxBits++;
            // cut = the largest (key, index) such that the kept tokens before it hold <= 1 - top_p and are not all
            long cut = 0;
            for (int b = 31 + idxBits; b >= 0; b--) {
                long t = cut | (1L << b);
                double s = 0;
                int c = 0;
                for (int i = lid; i < n; i += SWG) {
                    double e = work.get(i);
                    if (e >= 0 && ((orderKey(x.get(xOff + i)) << idxBits) | i) < t) {
                        s += e / sum;
                        c++;
                    }
                }
                s = swgSum(ctx, ss, s, lid);
                c = swgCount(ctx, sc, c, lid);
                if (s <= thr && c <= kept - 1) cut = t;
            }
            part = 0;
            for (int i = lid; i < n; i += SWG) {
                double e = work.get(i);
                if (e >= 0) {
                    if (((orderKey(x.get(xOff + i)) << idxBits) | i) < cut) work.set(i, -1);
                    else part += e;
                }
            }
            sum = swgSum(ctx, ss, part, lid);
        }

        // the draw: w = the largest index whose preceding probabilities sum to <= u; token w (if w < n)
        int wBits = 0;
        while ((1 << wBits) <= n) wBits++;
        int w = 0;
        for (int b = wBits - 1; b >= 0; b--) {
            int t = w | (1 << b);
            if (t <= n) {
                double s = 0;
                for (int i = lid; i < t; i += SWG) {
                    double e = work.get(i);
                    if (e > 0) s += e / sum;
                }
                if (swgSum(ctx, ss, s, lid) <= u) w = t;
            }
        }
        if (w >= n) {
            // rounding left u above the total: the last token with a nonzero probability, as the host
            int last = -1;
            for (int i = lid; i < n; i += SWG) if (work.get(i) / sum > 0) last = i;
            w = swgMaxInt(ctx, sc, last, lid);
        }
        if (lid == 0) params.set(pIdx + 7, w);
    }
}
