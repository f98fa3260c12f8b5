package dev.owl2j.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Every model kernel (dev.owl2j.kernels.ops) against a plain-Java reference on fresh random inputs, every output
 * element, on each backend: the JVM (KernelsOnJvmTest, the kernels' own Java) and OpenCL (KernelsOnOpenClTest,
 * the compiled C on PoCL). Tolerances: products/reductions over a few hundred terms 1e-4 abs (float vs double
 * accumulation in a different order), element-wise and norm outputs 1e-5 abs (values are O(1); exp rounding
 * differs by ulps).
 */
abstract class KernelsTest {
    static final double DOT_TOL = 1e-4;
    static final double ELEM_TOL = 1e-5;

    final Random rnd = new Random(System.nanoTime());

    abstract ComputeContext ctx();

    abstract Kernels k();

    Buffer upload(byte[] b) {
        Buffer buf = ctx().allocate(b.length);
        buf.write(b, 0);
        return buf;
    }

    float[] run(Launch l, Buffer out, int offset, int n) {
        ctx().launch(l);
        ctx().finish();
        return out.readFloats(offset, n);
    }

    @ParameterizedTest
    @EnumSource(WeightType.class)
    void linearMatchesReference(WeightType type) {
        int rows = 37, cols = 352, n = 3; // cols: 11 blocks of 32, not a multiple of the 64-thread group
        float[] w = Ref.random(rnd, rows * cols, 1f);
        Ref.Packed p = Ref.pack(type, w, rows, cols);
        float[] x = Ref.random(rnd, n * cols + 5, 1f);
        float[] xs = java.util.Arrays.copyOfRange(x, 5, 5 + n * cols);
        try (Buffer wb = upload(p.bytes()); Buffer xb = ctx().upload(x); Buffer yb = ctx().allocate((n * rows + 2) * 4L)) {
            float[] got = run(k().linear(type, wb, xb, 5, cols, yb, 2, rows, rows, cols, n), yb, 2, n * rows);
            Ref.assertClose("linear_" + type, Ref.linear(p.values(), xs, rows, cols, n), got, DOT_TOL);
        }
    }

    @ParameterizedTest
    @EnumSource(WeightType.class)
    void linearBatchMatchesReferenceAndTheSingleTokenKernel(WeightType type) {
        int rows = 29, cols = 352;
        float[] w = Ref.random(rnd, rows * cols, 1f);
        Ref.Packed p = Ref.pack(type, w, rows, cols);
        for (int n : new int[]{1, 3, Kernels.MAX_BATCH}) {
            int stride = cols + 7; // rows of x not packed tightly
            float[] x = Ref.random(rnd, n * stride + 5, 1f);
            float[] xs = new float[n * cols];
            for (int t = 0; t < n; t++) System.arraycopy(x, 5 + t * stride, xs, t * cols, cols);
            try (Buffer wb = upload(p.bytes()); Buffer xb = ctx().upload(x); Buffer yb = ctx().allocate((n * rows + 2) * 4L);
                 Buffer y1 = ctx().allocate((n * rows + 2) * 4L)) {
                float[] got = run(k().linearBatch(type, wb, xb, 5, stride, yb, 2, rows, rows, cols, n), yb, 2, n * rows);
                Ref.assertClose("linear_batch_" + type + " n=" + n, Ref.linear(p.values(), xs, rows, cols, n), got, DOT_TOL);
                float[] single = run(k().linear(type, wb, xb, 5, stride, y1, 2, rows, rows, cols, n), y1, 2, n * rows);
                Ref.assertClose("linear_batch_" + type + " vs linear n=" + n, single, got, 1e-6);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(WeightType.class)
    void linearSelectPicksTheWeightsOfEachTokensModality(WeightType type) {
        int rows = 19, cols = 64, n = 5;
        Ref.Packed p0 = Ref.pack(type, Ref.random(rnd, rows * cols, 1f), rows, cols);
        Ref.Packed p1 = Ref.pack(type, Ref.random(rnd, rows * cols, 1f), rows, cols);
        int[] modality = {7, 0, 1, 1, 0, 1}; // offset 1: tokens see 0,1,1,0,1
        float[] x = Ref.random(rnd, n * cols, 1f);
        float[] r0 = Ref.linear(p0.values(), x, rows, cols, n);
        float[] r1 = Ref.linear(p1.values(), x, rows, cols, n);
        float[] expected = new float[n * rows];
        for (int t = 0; t < n; t++) System.arraycopy(modality[1 + t] == 0 ? r0 : r1, t * rows, expected, t * rows, rows);
        try (Buffer w0 = upload(p0.bytes()); Buffer w1 = upload(p1.bytes()); Buffer mb = ctx().upload(modality);
             Buffer xb = ctx().upload(x); Buffer yb = ctx().allocate(n * rows * 4L)) {
            float[] got = run(k().linearSelect(type, w0, w1, mb, 1, xb, 0, cols, yb, 0, rows, rows, cols, n), yb, 0, n * rows);
            Ref.assertClose("linear_select_" + type, expected, got, DOT_TOL);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightType.class, names = {"F32", "F16", "BF16"})
    void tiledMatmulMatchesReference(WeightType type) {
        int rows = 37, cols = 50, n = 21; // none a multiple of the 16 tile
        Ref.Packed p = Ref.pack(type, Ref.random(rnd, rows * cols, 1f), rows, cols);
        int xStride = cols + 3, yStride = rows + 1;
        float[] x = Ref.random(rnd, 4 + n * xStride, 1f);
        float[] xs = new float[n * cols];
        for (int t = 0; t < n; t++) System.arraycopy(x, 4 + t * xStride, xs, t * cols, cols);
        float[] ref = Ref.linear(p.values(), xs, rows, cols, n);
        try (Buffer wb = upload(p.bytes()); Buffer xb = ctx().upload(x); Buffer yb = ctx().allocate(n * yStride * 4L)) {
            float[] all = run(k().matmul(type, wb, xb, 4, xStride, yb, 0, yStride, rows, cols, n), yb, 0, n * yStride);
            float[] got = new float[n * rows];
            for (int t = 0; t < n; t++) System.arraycopy(all, t * yStride, got, t * rows, rows);
            Ref.assertClose("matmul_" + type, ref, got, DOT_TOL);
        }
    }

    @Test
    void rmsnormAndSelect() {
        int rows = 4, n = 200;
        float eps = 1e-6f;
        float[] x = Ref.random(rnd, rows * n, 2f);
        float[] w0 = Ref.random(rnd, n, 1f), w1 = Ref.random(rnd, n, 1f);
        int[] modality = {1, 0, 0, 1};
        float[] e0 = new float[rows * n], eSel = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            double sq = 0;
            for (int i = 0; i < n; i++) sq += (double) x[r * n + i] * x[r * n + i];
            double inv = 1 / Math.sqrt(sq / n + eps);
            for (int i = 0; i < n; i++) {
                e0[r * n + i] = (float) (x[r * n + i] * inv * w0[i]);
                eSel[r * n + i] = (float) (x[r * n + i] * inv * (modality[r] == 0 ? w0 : w1)[i]);
            }
        }
        try (Buffer xb = ctx().upload(x); Buffer a = ctx().upload(w0); Buffer b = ctx().upload(w1);
             Buffer mb = ctx().upload(modality); Buffer out = ctx().allocate(rows * n * 4L)) {
            Ref.assertClose("rmsnorm", e0, run(k().rmsnorm(xb, 0, out, 0, a, rows, n, eps), out, 0, rows * n), ELEM_TOL);
            Ref.assertClose("rmsnorm_select", eSel, run(k().rmsnormSelect(xb, 0, out, 0, a, b, mb, 0, rows, n, eps), out, 0, rows * n), ELEM_TOL);
        }
    }

    @Test
    void layernormInPlace() {
        int rows = 5, n = 176;
        float eps = 1e-5f;
        float[] x = Ref.random(rnd, rows * n, 3f);
        for (int i = 0; i < x.length; i++) x[i] += 1.5f; // non-zero mean
        float[] w = Ref.random(rnd, n, 1f), b = Ref.random(rnd, n, 1f);
        float[] e = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += x[r * n + i];
            double mean = s / n, sq = 0;
            for (int i = 0; i < n; i++) sq += (x[r * n + i] - mean) * (x[r * n + i] - mean);
            double inv = 1 / Math.sqrt(sq / n + eps);
            for (int i = 0; i < n; i++) e[r * n + i] = (float) ((x[r * n + i] - mean) * inv * w[i] + b[i]);
        }
        try (Buffer xb = ctx().upload(x); Buffer wb = ctx().upload(w); Buffer bb = ctx().upload(b)) {
            Ref.assertClose("layernorm", e, run(k().layernorm(xb, 0, xb, 0, wb, bb, rows, n, eps), xb, 0, rows * n), ELEM_TOL);
        }
    }

    @Test
    void softmaxRows() {
        int rows = 3, n = 300;
        float[] x = Ref.random(rnd, rows * n, 8f);
        float[] e = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int i = 0; i < n; i++) m = Math.max(m, x[r * n + i]);
            for (int i = 0; i < n; i++) s += Math.exp(x[r * n + i] - m);
            for (int i = 0; i < n; i++) e[r * n + i] = (float) (Math.exp(x[r * n + i] - m) / s);
        }
        try (Buffer xb = ctx().upload(x)) {
            Ref.assertClose("softmax", e, run(k().softmax(xb, 0, rows, n), xb, 0, rows * n), ELEM_TOL);
        }
    }

    @Test
    void ropeRotateHalfAtParamPosition() {
        int n = 3, heads = 4, headDim = 16, half = 8, positions = 20, rowStride = heads * headDim + 8;
        float[] x = Ref.random(rnd, n * rowStride, 1f);
        float[] cos = new float[positions * half], sin = new float[positions * half];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                double a = p * Math.pow(10000, -2.0 * i / headDim);
                cos[p * half + i] = (float) Math.cos(a);
                sin[p * half + i] = (float) Math.sin(a);
            }
        }
        int[] params = {0, 0, 11};
        float[] e = x.clone();
        for (int t = 0; t < n; t++) {
            int pos = params[2] + t;
            for (int h = 0; h < heads; h++) {
                int o = t * rowStride + h * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cos[pos * half + i], s = sin[pos * half + i], x0 = x[o + i], x1 = x[o + half + i];
                    e[o + i] = x0 * c - x1 * s;
                    e[o + half + i] = x1 * c + x0 * s;
                }
            }
        }
        try (Buffer xb = ctx().upload(x); Buffer cb = ctx().upload(cos); Buffer sb = ctx().upload(sin); Buffer pb = ctx().upload(params)) {
            Ref.assertClose("rope", e, run(k().rope(xb, 0, rowStride, heads, headDim, cb, sb, pb, 2, n), xb, 0, x.length), ELEM_TOL);
        }
    }

    /** Reference attention with the same head layout convention as the kernel. */
    static float[] attention(float[] q, int qOff, int qRow, int qHead, float[] k, int kOff, int kRow, int kHead,
                             float[] v, int vOff, int vRow, int vHead, int nQ, int heads, int kvHeads, int headDim,
                             float scale, boolean causal, int nKeys, int pos0, int oRow) {
        float[] out = new float[nQ * oRow];
        for (int h = 0; h < heads; h++) {
            int kvh = h / (heads / kvHeads);
            for (int i = 0; i < nQ; i++) {
                int vis = causal ? pos0 + i + 1 : nKeys;
                double[] s = new double[vis];
                double m = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < vis; j++) {
                    double d = 0;
                    for (int e = 0; e < headDim; e++) d += (double) q[qOff + i * qRow + h * qHead + e] * k[kOff + j * kRow + kvh * kHead + e];
                    s[j] = d * scale;
                    m = Math.max(m, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < vis; j++) { s[j] = Math.exp(s[j] - m); sum += s[j]; }
                for (int e = 0; e < headDim; e++) {
                    double acc = 0;
                    for (int j = 0; j < vis; j++) acc += s[j] * v[vOff + j * vRow + kvh * vHead + e];
                    out[i * oRow + h * headDim + e] = (float) (acc / sum);
                }
            }
        }
        return out;
    }

    @Test
    void causalAttentionOverACacheWithGroupedHeads() {
        // 4 query heads share 2 kv heads; head dim 128 > the 64-thread group; 3 queries at positions 150..152.
        int heads = 4, kvHeads = 2, headDim = 128, nQ = 3, pos0 = 150, cap = 160, kvDim = kvHeads * headDim;
        float[] q = Ref.random(rnd, nQ * heads * headDim, 1f);
        float[] kc = Ref.random(rnd, cap * kvDim, 1f), vc = Ref.random(rnd, cap * kvDim, 1f);
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] e = attention(q, 0, heads * headDim, headDim, kc, 0, kvDim, headDim, vc, 0, kvDim, headDim,
                nQ, heads, kvHeads, headDim, scale, true, 0, pos0, heads * headDim);
        try (Buffer qb = ctx().upload(q); Buffer kb = ctx().upload(kc); Buffer vb = ctx().upload(vc);
             Buffer ob = ctx().allocate(nQ * heads * headDim * 4L); Buffer pb = ctx().upload(new int[]{pos0})) {
            Launch l = k().attention(new Kernels.Layout(qb, 0, heads * headDim, headDim), new Kernels.Layout(kb, 0, kvDim, headDim),
                    new Kernels.Layout(vb, 0, kvDim, headDim), new Kernels.Layout(ob, 0, heads * headDim, headDim),
                    nQ, heads, kvHeads, headDim, scale, true, 0, pb, 0);
            Ref.assertClose("causal attention", e, run(l, ob, 0, e.length), ELEM_TOL);
        }
    }

    @Test
    void fullAttentionOverHeadInterleavedFusedQkv() {
        // The vision tower's layout: row = [h0 q | h0 k | h0 v | h1 q | ...]; 130 keys = 3 chunks of the group.
        int heads = 4, headDim = 16, seq = 130, row = 3 * heads * headDim;
        float[] qkv = Ref.random(rnd, seq * row, 1f);
        float scale = 0.25f;
        float[] e = attention(qkv, 0, row, 3 * headDim, qkv, headDim, row, 3 * headDim, qkv, 2 * headDim, row, 3 * headDim,
                seq, heads, heads, headDim, scale, false, seq, 0, heads * headDim);
        try (Buffer b = ctx().upload(qkv); Buffer ob = ctx().allocate(seq * heads * headDim * 4L); Buffer pb = ctx().upload(new int[]{0})) {
            Launch l = k().attention(new Kernels.Layout(b, 0, row, 3 * headDim), new Kernels.Layout(b, headDim, row, 3 * headDim),
                    new Kernels.Layout(b, 2 * headDim, row, 3 * headDim), new Kernels.Layout(ob, 0, heads * headDim, headDim),
                    seq, heads, heads, headDim, scale, false, seq, pb, 0);
            Ref.assertClose("full attention", e, run(l, ob, 0, e.length), ELEM_TOL);
        }
    }

    @Test
    void elementwiseKernels() {
        int n = 1000;
        float[] g = Ref.random(rnd, n, 6f), u = Ref.random(rnd, n, 2f);
        float[] eSilu = new float[n], eGelu = new float[n], eAdd = new float[n], eScale = new float[n];
        for (int i = 0; i < n; i++) {
            eSilu[i] = (float) (g[i] / (1 + Math.exp(-g[i])) * u[i]);
            eGelu[i] = (float) (g[i] / (1 + Math.exp(-1.702 * g[i])));
            eAdd[i] = g[i] + u[i];
            eScale[i] = g[i] * 0.37f;
        }
        try (Buffer gb = ctx().upload(g); Buffer ub = ctx().upload(u)) {
            Ref.assertClose("silu_mul", eSilu, run(k().siluMul(gb, ub, n), gb, 0, n), ELEM_TOL);
            gb.write(g, 0);
            Ref.assertClose("quick_gelu", eGelu, run(k().quickGelu(gb, n), gb, 0, n), ELEM_TOL);
            gb.write(g, 0);
            Ref.assertClose("add", eAdd, run(k().add(gb, 0, ub, 0, n), gb, 0, n), 0);
            gb.write(g, 0);
            Ref.assertClose("scale", eScale, run(k().scale(gb, 0, 0.37f, n), gb, 0, n), 0);
        }
    }

    @Test
    void biasAddCopyAndRowAppend() {
        int rows = 7, cols = 33;
        float[] y = Ref.random(rnd, 3 + rows * cols, 1f), b = Ref.random(rnd, cols, 1f);
        float[] e = y.clone();
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) e[3 + r * cols + c] += b[c];
        float[] src = Ref.random(rnd, 2 * cols + 1, 1f);
        try (Buffer yb = ctx().upload(y); Buffer bb = ctx().upload(b); Buffer sb = ctx().upload(src);
             Buffer cache = ctx().allocate(10L * cols * 4); Buffer pb = ctx().upload(new int[]{9, 4})) {
            Ref.assertClose("bias_add", e, run(k().biasAdd(yb, 3, bb, rows, cols), yb, 0, y.length), 0);
            float[] eCopy = e.clone();
            System.arraycopy(src, 1, eCopy, 5, 2 * cols);
            Ref.assertClose("copy", eCopy, run(k().copy(yb, 5, sb, 1, 2 * cols), yb, 0, y.length), 0);
            float[] eCache = new float[10 * cols];
            System.arraycopy(src, 1, eCache, 4 * cols, 2 * cols);
            Ref.assertClose("copy_rows_at", eCache, run(k().copyRowsAt(cache, sb, 1, cols, 2, pb, 1), cache, 0, 10 * cols), 0);
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightType.class, names = {"F32", "F16", "BF16"})
    void gatherRowsSkipsNegativeIds(WeightType type) {
        int vocab = 50, cols = 70;
        Ref.Packed p = Ref.pack(type, Ref.random(rnd, vocab * cols, 1f), vocab, cols);
        int[] ids = {99, 3, -1, 49, 0};
        float[] init = Ref.random(rnd, 4 * cols, 1f);
        float[] e = init.clone();
        for (int t = 0; t < 4; t++) {
            int id = ids[1 + t];
            if (id >= 0) System.arraycopy(p.values(), id * cols, e, t * cols, cols);
        }
        try (Buffer tb = upload(p.bytes()); Buffer ib = ctx().upload(ids); Buffer ob = ctx().upload(init)) {
            Ref.assertClose("gather_rows_" + type, e, run(k().gatherRows(type, tb, ib, 1, ob, cols, 4), ob, 0, 4 * cols), 0);
        }
    }

    @Test
    void argmaxTakesTheLowestIndexOnTies() {
        int n = 32000;
        float[] x = Ref.random(rnd, n, 10f);
        int best = rnd.nextInt(n - 1000);
        x[best] = 50f;
        x[best + 777] = 50f;
        try (Buffer xb = ctx().upload(x); Buffer ob = ctx().allocate(8)) {
            ctx().launch(k().argmax(xb, 0, n, ob, 1));
            ctx().finish();
            assertArrayEquals(new int[]{best}, ob.readInts(1, 1));
        }
    }
}
