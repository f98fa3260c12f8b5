package dev.owl2j.model.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The element-wise and per-row operations of the forward pass (norms, activations, residual adds) on float
 * arrays holding row-major [rows, n] matrices. Reductions and element-wise loops use the Vector API, including
 * exp (VectorOperators.EXP, within about 1 ulp of Math.exp; softmax, SiLU and QuickGELU differ from the scalar
 * versions only by float rounding). The activations over whole [tokens, intermediate] matrices are split over
 * the thread pool. Norm statistics and softmax sums accumulate in double.
 */
public final class Ops {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Ops() {}

    /** Σ a[aOff+i]·b[bOff+i] for i in [0, n). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float sum = 0f;
        int bound = F.loopBound(n);
        if (bound > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < bound; i += F.length()) {
                acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** Σ a[aOff+i]·b[i] for i in [0, n), b being n floats at byte offset bOff of a segment (a KV cache row). */
    public static float dot(float[] a, int aOff, MemorySegment b, long bOff, int n) {
        int i = 0;
        float sum = 0f;
        int bound = F.loopBound(n);
        if (bound > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; i < bound; i += F.length()) {
                FloatVector bv = FloatVector.fromMemorySegment(F, b, bOff + (long) i * Float.BYTES, ByteOrder.nativeOrder());
                acc = FloatVector.fromArray(F, a, aOff + i).fma(bv, acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += a[aOff + i] * b.get(ValueLayout.JAVA_FLOAT, bOff + (long) i * Float.BYTES);
        }
        return sum;
    }

    /** y[yOff+i] += alpha·x[i] for i in [0, n), x being n floats at byte offset xOff of a segment. */
    public static void axpy(float alpha, MemorySegment x, long xOff, float[] y, int yOff, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        FloatVector a = FloatVector.broadcast(F, alpha);
        for (; i < bound; i += F.length()) {
            FloatVector xv = FloatVector.fromMemorySegment(F, x, xOff + (long) i * Float.BYTES, ByteOrder.nativeOrder());
            xv.fma(a, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += alpha * x.get(ValueLayout.JAVA_FLOAT, xOff + (long) i * Float.BYTES);
        }
    }

    /** y[i] += x[i] over the first n elements (residual connection). */
    public static void addInPlace(float[] y, float[] x, int n) {
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, y, i).add(FloatVector.fromArray(F, x, i)).intoArray(y, i);
        }
        for (; i < n; i++) {
            y[i] += x[i];
        }
    }

    /** Adds the bias vector (length n) to each of the rows of the row-major matrix y [rows, n]. */
    public static void addBias(float[] y, int rows, float[] bias) {
        int n = bias.length;
        for (int r = 0; r < rows; r++) {
            int off = r * n;
            int i = 0;
            int bound = F.loopBound(n);
            for (; i < bound; i += F.length()) {
                FloatVector.fromArray(F, y, off + i).add(FloatVector.fromArray(F, bias, i)).intoArray(y, off + i);
            }
            for (; i < n; i++) {
                y[off + i] += bias[i];
            }
        }
    }

    /**
     * LayerNorm of every row of x [rows, n] into out (may be x): (x − mean)/√(var + eps)·w + b, with the
     * biased variance (PyTorch nn.LayerNorm). Mean and variance are two separate passes for accuracy.
     */
    public static void layerNorm(float[] x, int rows, int n, float[] w, float[] b, double eps, float[] out) {
        Parallel.forRange(rows, 64, (start, end) -> {
            for (int r = start; r < end; r++) {
                layerNormRow(x, r * n, n, w, b, eps, out, r * n);
            }
        });
    }

    static void layerNormRow(float[] x, int off, int n, float[] w, float[] b, double eps, float[] out, int outOff) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += x[off + i];
        }
        float mean = (float) (sum / n);
        double sq = 0;
        for (int i = 0; i < n; i++) {
            double d = x[off + i] - mean;
            sq += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(sq / n + eps));
        FloatVector vMean = FloatVector.broadcast(F, mean);
        FloatVector vInv = FloatVector.broadcast(F, inv);
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, off + i).sub(vMean).mul(vInv);
            v.fma(FloatVector.fromArray(F, w, i), FloatVector.fromArray(F, b, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = (x[off + i] - mean) * inv * w[i] + b[i];
        }
    }

    /** RMSNorm of one row (LLaMA): x/√(mean(x²) + eps)·w. */
    public static void rmsNormRow(float[] x, int off, int n, float[] w, double eps, float[] out, int outOff) {
        double sq = 0;
        for (int i = 0; i < n; i++) {
            double v = x[off + i];
            sq += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt(sq / n + eps));
        FloatVector vInv = FloatVector.broadcast(F, inv);
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, off + i).mul(vInv).mul(FloatVector.fromArray(F, w, i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[off + i] * inv * w[i];
        }
    }

    /** In-place softmax of x[off .. off+n). The sum of the exponentials is accumulated in double. */
    public static void softmax(float[] x, int off, int n) {
        int bound = F.loopBound(n);
        int i = 0;
        float max = Float.NEGATIVE_INFINITY;
        if (bound > 0) {
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (; i < bound; i += F.length()) {
                m = m.max(FloatVector.fromArray(F, x, off + i));
            }
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        FloatVector vMax = FloatVector.broadcast(F, max);
        double sum = 0;
        for (i = 0; i < bound; i += F.length()) {
            FloatVector e = FloatVector.fromArray(F, x, off + i).sub(vMax).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            sum += e.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        FloatVector vInv = FloatVector.broadcast(F, inv);
        for (i = 0; i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, off + i).mul(vInv).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= inv;
        }
    }

    /** CLIP's QuickGELU x·σ(1.702·x), in place over the first n elements (the vision MLP's activation). */
    public static void quickGelu(float[] x, int n) {
        Parallel.forRange(n, 1 << 14, (start, end) -> {
            FloatVector one = FloatVector.broadcast(F, 1f);
            int i = start;
            int bound = start + F.loopBound(end - start);
            for (; i < bound; i += F.length()) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                v.div(one.add(v.mul(-1.702f).lanewise(VectorOperators.EXP))).intoArray(x, i);
            }
            for (; i < end; i++) {
                float v = x[i];
                x[i] = (float) (v / (1.0 + Math.exp(-1.702 * v)));
            }
        });
    }

    /** gate[i] = SiLU(gate[i])·up[i] over the first n elements (LLaMA MLP and the abstractor's SwiGLU). */
    public static void siluMul(float[] gate, float[] up, int n) {
        Parallel.forRange(n, 1 << 14, (start, end) -> {
            FloatVector one = FloatVector.broadcast(F, 1f);
            int i = start;
            int bound = start + F.loopBound(end - start);
            for (; i < bound; i += F.length()) {
                FloatVector g = FloatVector.fromArray(F, gate, i);
                g.div(one.add(g.neg().lanewise(VectorOperators.EXP))).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
            }
            for (; i < end; i++) {
                float g = gate[i];
                gate[i] = (float) (g / (1.0 + Math.exp(-g))) * up[i];
            }
        });
    }
}
