package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * Shared driver of the Vector API linear kernels. The weights stay in their stored dtype (usually a view into the
 * memory-mapped checkpoint); subclasses supply two dtype-specific pieces:
 * <ul>
 * <li>{@link #dotRow}: one weight row · x, widening on the fly (decode matvec: memory bound, so the weights are
 *     read exactly once and never copied);</li>
 * <li>{@link #widen}: a [row, k0..k0+kc) slice widened to floats into a small scratch tile (prefill / vision
 *     matmul: compute bound, so each tile is widened once and then reused against every row of X).</li>
 * </ul>
 * The matmul is register-blocked: a 4 (weight rows) × 3 (X rows) micro-kernel keeps 12 FMA accumulators in
 * vector registers, loading 7 vectors per 12 FMAs. Threads split the output rows (blocks of {@value #RB} weight
 * rows, so each thread owns disjoint y entries); K is tiled by {@value #KC} so the widened tile (RB × KC floats,
 * 32 KiB) and three X rows stay in L1/L2.
 */
abstract class VectorLinear implements Linear {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Weight rows per parallel block / widened tile. */
    static final int RB = 16;
    /** Columns per K tile (a multiple of 32, the quantization block). */
    static final int KC = 512;
    private static final int MR = 4;
    private static final int NR = 3;

    final Tensor w;
    final MemorySegment data;
    final int rows;
    final int cols;

    VectorLinear(Tensor w) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException(w.name() + " is not a matrix: " + w.shapeString());
        }
        this.w = w;
        this.data = w.data();
        this.rows = Math.toIntExact(w.dim(0));
        this.cols = Math.toIntExact(w.dim(1));
    }

    /** Σ_c W[row, c]·x[xOff + c]. */
    abstract float dotRow(int row, float[] x, int xOff);

    /** out[outOff + j] = W[row, k0 + j] for j in [0, kc); k0 is a multiple of KC. */
    abstract void widen(int row, int k0, int kc, float[] out, int outOff);

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    @Override
    public long byteSize() {
        return data.byteSize();
    }

    @Override
    public void matvec(float[] x, int xOff, float[] y, int yOff) {
        // ~32k multiply-adds per chunk at least, so tiny matrices stay on the calling thread.
        int minRows = Math.max(1, (1 << 15) / Math.max(1, cols));
        Parallel.forRange(rows, minRows, (start, end) -> {
            for (int r = start; r < end; r++) {
                y[yOff + r] = dotRow(r, x, xOff);
            }
        });
    }

    @Override
    public void matmul(float[] x, int n, float[] y) {
        if (n == 1) {
            matvec(x, 0, y, 0);
            return;
        }
        int blocks = (rows + RB - 1) / RB;
        int minBlocks = Math.max(1, (1 << 16) / Math.max(1, RB * cols * n));
        Parallel.forRange(blocks, minBlocks, (start, end) -> {
            float[] tile = new float[RB * KC];
            for (int b = start; b < end; b++) {
                int r0 = b * RB;
                int nr = Math.min(RB, rows - r0);
                for (int k0 = 0; k0 < cols; k0 += KC) {
                    int kc = Math.min(KC, cols - k0);
                    for (int r = 0; r < nr; r++) {
                        widen(r0 + r, k0, kc, tile, r * kc);
                    }
                    boolean first = k0 == 0;
                    for (int i0 = 0; i0 < n; i0 += NR) {
                        int ni = Math.min(NR, n - i0);
                        for (int rr = 0; rr < nr; rr += MR) {
                            int mr = Math.min(MR, nr - rr);
                            if (mr == MR && ni == NR) {
                                micro4x3(tile, rr * kc, kc, x, i0 * cols + k0, cols, y, i0 * rows + r0 + rr, rows, first);
                            } else {
                                for (int i = 0; i < ni; i++) {
                                    for (int r = 0; r < mr; r++) {
                                        float s = dot(tile, (rr + r) * kc, x, (i0 + i) * cols + k0, kc);
                                        int yi = (i0 + i) * rows + r0 + rr + r;
                                        y[yi] = first ? s : y[yi] + s;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
    }

    /** y[yOff + i·yStride + r] (+)= tile row r · x row i, for r < 4, i < 3. */
    private static void micro4x3(float[] t, int tOff, int kc, float[] x, int xOff, int xStride,
                                 float[] y, int yOff, int yStride, boolean first) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00;
        int t0 = tOff, t1 = tOff + kc, t2 = tOff + 2 * kc, t3 = tOff + 3 * kc;
        int x0 = xOff, x1 = xOff + xStride, x2 = xOff + 2 * xStride;
        int bound = F.loopBound(kc);
        int k = 0;
        for (; k < bound; k += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + k);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector w = FloatVector.fromArray(F, t, t0 + k);
            a00 = w.fma(v0, a00);
            a01 = w.fma(v1, a01);
            a02 = w.fma(v2, a02);
            w = FloatVector.fromArray(F, t, t1 + k);
            a10 = w.fma(v0, a10);
            a11 = w.fma(v1, a11);
            a12 = w.fma(v2, a12);
            w = FloatVector.fromArray(F, t, t2 + k);
            a20 = w.fma(v0, a20);
            a21 = w.fma(v1, a21);
            a22 = w.fma(v2, a22);
            w = FloatVector.fromArray(F, t, t3 + k);
            a30 = w.fma(v0, a30);
            a31 = w.fma(v1, a31);
            a32 = w.fma(v2, a32);
        }
        float[] s = {
                a00.reduceLanes(VectorOperators.ADD), a01.reduceLanes(VectorOperators.ADD), a02.reduceLanes(VectorOperators.ADD),
                a10.reduceLanes(VectorOperators.ADD), a11.reduceLanes(VectorOperators.ADD), a12.reduceLanes(VectorOperators.ADD),
                a20.reduceLanes(VectorOperators.ADD), a21.reduceLanes(VectorOperators.ADD), a22.reduceLanes(VectorOperators.ADD),
                a30.reduceLanes(VectorOperators.ADD), a31.reduceLanes(VectorOperators.ADD), a32.reduceLanes(VectorOperators.ADD)};
        for (; k < kc; k++) {
            for (int r = 0; r < 4; r++) {
                float wv = t[tOff + r * kc + k];
                s[r * 3] += wv * x[x0 + k];
                s[r * 3 + 1] += wv * x[x1 + k];
                s[r * 3 + 2] += wv * x[x2 + k];
            }
        }
        for (int r = 0; r < 4; r++) {
            for (int i = 0; i < 3; i++) {
                int yi = yOff + i * yStride + r;
                y[yi] = first ? s[r * 3 + i] : y[yi] + s[r * 3 + i];
            }
        }
    }

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int k = 0;
        float sum = 0f;
        int bound = F.loopBound(n);
        if (bound > 0) {
            FloatVector acc = FloatVector.zero(F);
            for (; k < bound; k += L) {
                acc = FloatVector.fromArray(F, a, aOff + k).fma(FloatVector.fromArray(F, b, bOff + k), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; k < n; k++) {
            sum += a[aOff + k] * b[bOff + k];
        }
        return sum;
    }
}
