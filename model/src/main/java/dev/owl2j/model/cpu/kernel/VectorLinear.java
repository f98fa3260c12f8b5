package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.Settings;
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
 * Batched decode (a few X rows) uses the subclasses' register-blocked {@link #block2x8} (X packed by
 * {@link PackedRows}, 512-bit vectors) and {@link #block2x4} on the stored weights;
 * larger matmuls widen K tiles of {@value #OK} columns once and multiply them in outer-product form
 * ({@link #matmulOuter}). Threads always split the output rows, so each owns disjoint y entries.
 */
abstract class VectorLinear implements Linear {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();

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

    /** out[outOff + j] = W[row, k0 + j] for j in [0, kc); k0 is a multiple of 32 (the quantization block). */
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

    /** ~32k multiply-adds per matvec chunk at least, so tiny matrices stay on the calling thread. */
    final int matvecMinRows() {
        return Math.max(1, (1 << 15) / Math.max(1, cols));
    }

    /**
     * The final subclasses override this with a copy of the same loop: a lambda of their own calls their own
     * dotRow (one receiver type, compiled with that kernel alone). Through this shared lambda, C2 inlined the Q4_0
     * and F16 kernels side by side into one compile and left vector operations out of line there (boxed
     * FloatVectors, VectorSupport fallbacks): 7B Q4_0 single-session decode 2.2 instead of 5 tok/s.
     */
    @Override
    public void matvec(float[] x, int xOff, float[] y, int yOff) {
        int minRows = matvecMinRows();
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
        if (n <= BLOCKED_MAX && hasBlockedKernels()) {
            matmulBlocked(x, n, y, WIDE);
            return;
        }
        matmulOuter(x, n, y);
    }

    /**
     * Up to this many X rows (batched decode, one token per session) {@link #matmulBlocked} runs: weights are
     * widened in registers once per group of four or eight X rows, two weight rows share every X load, and K is
     * tiled so the group's X rows stay in L1 while a chunk of weight rows passes over them. Above it the
     * outer-product tiles win.
     */
    static final int BLOCKED_MAX = Settings.fromSystem().matmulBlocked();
    /** Weight rows per chunk of matmulBlocked (its vector accumulators: BR × group width × L floats). */
    private static final int BR = 16;
    /** K tile of matmulBlocked: eight X rows × BK floats = 16 KiB, within L1. */
    private static final int BK = Settings.fromSystem().blockK();
    static final boolean TOUCH = Settings.fromSystem().touch();
    /** Sink for {@link #touch}'s loads, so the JIT keeps them. */
    static volatile long touched;

    /**
     * Reads one byte per cache line of rows [r0, r0 + nr) front to back. The blocked kernel then walks those rows
     * in short K-tile pieces, a pattern the hardware prefetchers do not follow from DRAM; a plain sequential pass
     * brings the chunk (tens of KiB) into L2 at streaming speed first.
     */
    private void touch(int r0, int nr) {
        long from = data.byteSize() / rows * r0;
        long to = data.byteSize() / rows * (r0 + nr);
        long sum = 0;
        for (long o = from; o < to; o += 64) {
            sum += data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o);
        }
        if (sum == Long.MIN_VALUE) {
            touched = sum;
        }
    }

    /** True where the subclass implements {@link #block2x4} and {@link #block2x8}. */
    boolean hasBlockedKernels() {
        return false;
    }

    /**
     * acc[aOff + (j·4 + i)·L ..] += lanes of W[rj, k0 .. k0+kc) · x[xi + k0 ..] for j in {0, 1} (rows r0, r1) and
     * i in 0..3 (X rows starting at x0..x3). Lane-wise partial sums: the caller reduces them once at the end.
     * k0 is a multiple of BK; columns past the last whole vector may be added into lane 0.
     */
    void block2x4(int r0, int r1, int k0, int kc, float[] x, int x0, int x1, int x2, int x3, float[] acc, int aOff) {
        throw new UnsupportedOperationException();
    }

    /**
     * {@link #block2x4} for eight X rows packed by {@link PackedRows} (row i, column c at xs + c·8 + i·L for c a
     * multiple of L) into acc[aOff + (j·8 + i)·L ..]. Only with 512-bit vectors: sixteen accumulators plus the
     * widened weights need the 32 vector registers.
     */
    void block2x8(int r0, int r1, int k0, int kc, float[] x, int xs, float[] acc, int aOff) {
        throw new UnsupportedOperationException();
    }

    /** Rows per group of the wider kernel: 8 with 512-bit vectors, else 4 (every group takes {@link #block2x4}). */
    static final int WIDE = L == 16 ? 8 : 4;

    /**
     * The batched-decode path: groups of eight packed X rows ({@code wide} = 8) while more than four rows are left,
     * then groups of four rows as they are. Tests call both widths whatever the machine's vectors.
     */
    void matmulBlocked(float[] xIn, int n, float[] y, int wide) {
        PackedRows.Groups packed = wide == 8 ? PackedRows.pack(xIn, n, cols) : null;
        int firstOfFours = packed == null ? 0 : Math.min(n, 8 * packed.count());
        AlignedRows.Rows aligned = firstOfFours < n ? AlignedRows.of(xIn, n, cols) : null;
        int chunks = (rows + BR - 1) / BR;
        int minChunks = Math.max(1, (1 << 15) / Math.max(1, BR * cols * n));
        Parallel.forRange(chunks, minChunks, (start, end) -> {
            float[] acc = new float[BR * 8 * L];
            for (int ch = start; ch < end; ch++) {
                int r0 = ch * BR;
                int nr = Math.min(BR, rows - r0);
                if (TOUCH) {
                    touch(r0, nr);
                }
                for (int g = 0; packed != null && g < packed.count(); g++) {
                    java.util.Arrays.fill(acc, 0f);
                    for (int k0 = 0; k0 < cols; k0 += BK) {
                        int kc = Math.min(BK, cols - k0);
                        for (int p = 0; p < nr; p += 2) {
                            int ra = r0 + p;
                            block2x8(ra, p + 1 < nr ? ra + 1 : ra, k0, kc, packed.data(), packed.start(g), acc, p * 8 * L);
                        }
                    }
                    reduce(acc, 8, g * 8, Math.min(8, n - g * 8), r0, nr, y);
                }
                for (int g = firstOfFours; g < n; g += 4) {
                    // a last group of fewer than four X rows repeats row n-1; those sums are dropped
                    float[] x = aligned.data();
                    int x0 = aligned.offset() + g * cols;
                    int x1 = aligned.offset() + Math.min(g + 1, n - 1) * cols;
                    int x2 = aligned.offset() + Math.min(g + 2, n - 1) * cols;
                    int x3 = aligned.offset() + Math.min(g + 3, n - 1) * cols;
                    java.util.Arrays.fill(acc, 0f);
                    for (int k0 = 0; k0 < cols; k0 += BK) {
                        int kc = Math.min(BK, cols - k0);
                        for (int p = 0; p < nr; p += 2) {
                            int ra = r0 + p;
                            block2x4(ra, p + 1 < nr ? ra + 1 : ra, k0, kc, x, x0, x1, x2, x3, acc, p * 4 * L);
                        }
                    }
                    reduce(acc, 4, g, Math.min(4, n - g), r0, nr, y);
                }
            }
        });
    }

    /** y[(first + i)·rows + r0 + p] = Σ lanes of acc[(p·width + i)·L ..] for the group's used X rows i. */
    private void reduce(float[] acc, int width, int first, int used, int r0, int nr, float[] y) {
        for (int p = 0; p < nr; p++) {
            for (int i = 0; i < used; i++) {
                y[(first + i) * rows + r0 + p] = FloatVector.fromArray(F, acc, (p * width + i) * L).reduceLanes(VectorOperators.ADD);
            }
        }
    }

    /** Output rows per outer-product block: two vectors. */
    static final int OB = 2 * L;
    /** K tile of the outer-product kernel: OB × OK floats = 32 KiB with AVX-512, within L1. */
    static final int OK = 256;
    /** X rows per outer-product micro-kernel call ({@link #outer6}). */
    static final int ONR = 6;
    /**
     * With 512-bit vectors (32 registers) the rows go twelve at a time through {@link #outer12} first (a few
     * percent more FLOPs per CPU second than six at a time: docs/performance-log.md, Twelve X rows).
     */
    static final boolean WIDE_OUTER = L == 16;

    /**
     * Outer-product form: the widened tile is stored transposed ([k][OB rows]), so one k step loads two vectors
     * holding OB output rows and FMAs them with six (or twelve, {@link #WIDE_OUTER}) broadcast X values into 12
     * (24) accumulators that already sit in y's layout (no horizontal reductions).
     */
    private void matmulOuter(float[] x, int n, float[] y) {
        int blocks = (rows + OB - 1) / OB;
        int minBlocks = Math.max(1, (1 << 16) / Math.max(1, OB * cols * n));
        Parallel.forRange(blocks, minBlocks, outerBody(x, n, y));
    }

    /**
     * The per-thread loop of {@link #matmulOuter}: blocks [start, end) of OB weight rows, each K tile widened
     * row by row into an {@link OuterTile} and multiplied. Every final subclass returns its own copy of the same
     * lambda (for the reason given at {@link #matvec}: through one shared loop C2 inlined the F16 and Q4_0 widen
     * side by side and ran their vector operations out of line, which made a 7B Q4_0 prefill 2.5× slower and
     * grew the heap with boxed vectors).
     */
    abstract Parallel.RangeBody outerBody(float[] x, int n, float[] y);

    /** One thread's scratch for the outer-product matmul: the widened row, the transposed tile, the sums. */
    final class OuterTile {
        final float[] row = new float[OK];
        private final float[] tile = new float[OK * OB];
        private final float[] acc = new float[2 * ONR * OB];
        int r0;
        int kc;
        private int nr;

        /** Starts the K tile at k0 of block b; returns how many weight rows to {@link #widen} into row and {@link #put}. */
        int start(int b, int k0) {
            r0 = b * OB;
            nr = Math.min(OB, rows - r0);
            kc = Math.min(OK, cols - k0);
            if (nr < OB) {
                java.util.Arrays.fill(tile, 0f);
            }
            return nr;
        }

        /** Copies the widened row into column r of the transposed tile. */
        void put(int r) {
            for (int k = 0; k < kc; k++) {
                tile[k * OB + r] = row[k];
            }
        }

        /** y (+)= X[:, k0 .. k0 + kc) · tileᵀ for every row of X. */
        void multiply(float[] x, int n, float[] y, int k0) {
            multiplyTile(tile, kc, x, n, cols, y, rows, r0, nr, k0, acc);
        }
    }

    /**
     * y[i, r0 .. r0 + nr) (+)= X[i, k0 .. k0 + kc) · tileᵀ for every row i of X (x is [n, cols], y is [n, rows]),
     * tile being [kc][OB] (rows past nr zero); y is overwritten for k0 = 0 and accumulated into otherwise. acc is
     * scratch of 2·ONR·OB floats.
     */
    static void multiplyTile(float[] tile, int kc, float[] x, int n, int cols, float[] y, int rows, int r0, int nr,
                             int k0, float[] acc) {
        boolean first = k0 == 0;
        int i0 = 0;
        if (WIDE_OUTER) {
            for (; i0 + 2 * ONR <= n; i0 += 2 * ONR) {
                if (nr == OB) {
                    outer12(tile, kc, x, i0 * cols + k0, cols, y, i0 * rows + r0, rows, !first);
                } else {
                    outer12(tile, kc, x, i0 * cols + k0, cols, acc, 0, OB, false);
                    store(acc, 2 * ONR, y, rows, i0, r0, nr, first);
                }
            }
        }
        for (; i0 + ONR <= n; i0 += ONR) {
            if (nr == OB) {
                // a whole block: the accumulators start from and end in y itself
                outer6(tile, kc, x, i0 * cols + k0, cols, y, i0 * rows + r0, rows, !first);
            } else {
                outer6(tile, kc, x, i0 * cols + k0, cols, acc, 0, OB, false);
                store(acc, ONR, y, rows, i0, r0, nr, first);
            }
        }
        for (; i0 < n; i0++) {
            outer1(tile, kc, x, i0 * cols + k0, acc);
            store(acc, 1, y, rows, i0, r0, nr, first);
        }
    }

    private static void store(float[] acc, int m, float[] y, int rows, int i0, int r0, int nr, boolean first) {
        for (int i = 0; i < m; i++) {
            int yo = (i0 + i) * rows + r0;
            int ao = i * OB;
            if (first) {
                System.arraycopy(acc, ao, y, yo, nr);
            } else {
                for (int r = 0; r < nr; r++) {
                    y[yo + r] += acc[ao + r];
                }
            }
        }
    }

    /**
     * c[cOff + i·cStride + (0 .. OB)] (+)= Σ_k x[i][k]·tile[k][0 .. OB) for six X rows i: twelve accumulators,
     * started from c when accumulate is set.
     */
    private static void outer6(float[] t, int kc, float[] x, int xOff, int xStride, float[] c, int cOff, int cStride,
                               boolean accumulate) {
        int o0 = cOff, o1 = o0 + cStride, o2 = o1 + cStride, o3 = o2 + cStride, o4 = o3 + cStride, o5 = o4 + cStride;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate) {
            c00 = FloatVector.fromArray(F, c, o0);
            c01 = FloatVector.fromArray(F, c, o0 + L);
            c10 = FloatVector.fromArray(F, c, o1);
            c11 = FloatVector.fromArray(F, c, o1 + L);
            c20 = FloatVector.fromArray(F, c, o2);
            c21 = FloatVector.fromArray(F, c, o2 + L);
            c30 = FloatVector.fromArray(F, c, o3);
            c31 = FloatVector.fromArray(F, c, o3 + L);
            c40 = FloatVector.fromArray(F, c, o4);
            c41 = FloatVector.fromArray(F, c, o4 + L);
            c50 = FloatVector.fromArray(F, c, o5);
            c51 = FloatVector.fromArray(F, c, o5 + L);
        } else {
            c00 = FloatVector.zero(F);
            c01 = c00;
            c10 = c00;
            c11 = c00;
            c20 = c00;
            c21 = c00;
            c30 = c00;
            c31 = c00;
            c40 = c00;
            c41 = c00;
            c50 = c00;
            c51 = c00;
        }
        int x0 = xOff, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride, x4 = x3 + xStride, x5 = x4 + xStride;
        for (int k = 0; k < kc; k++) {
            FloatVector w0 = FloatVector.fromArray(F, t, k * OB);
            FloatVector w1 = FloatVector.fromArray(F, t, k * OB + L);
            FloatVector b = FloatVector.broadcast(F, x[x0 + k]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, x[x1 + k]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, x[x2 + k]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, x[x3 + k]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, x[x4 + k]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
            b = FloatVector.broadcast(F, x[x5 + k]);
            c50 = w0.fma(b, c50);
            c51 = w1.fma(b, c51);
        }
        c00.intoArray(c, o0);
        c01.intoArray(c, o0 + L);
        c10.intoArray(c, o1);
        c11.intoArray(c, o1 + L);
        c20.intoArray(c, o2);
        c21.intoArray(c, o2 + L);
        c30.intoArray(c, o3);
        c31.intoArray(c, o3 + L);
        c40.intoArray(c, o4);
        c41.intoArray(c, o4 + L);
        c50.intoArray(c, o5);
        c51.intoArray(c, o5 + L);
    }

    /**
     * {@link #outer6} for twelve X rows: 24 accumulators, which only 512-bit vectors' 32 registers hold (two weight
     * loads and twelve broadcasts per 24 FMAs instead of per 12).
     */
    private static void outer12(float[] t, int kc, float[] x, int xOff, int xStride, float[] c, int cOff, int cStride,
                                boolean accumulate) {
        int o0 = cOff, o1 = o0 + cStride, o2 = o1 + cStride, o3 = o2 + cStride, o4 = o3 + cStride, o5 = o4 + cStride, o6 = o5 + cStride, o7 = o6 + cStride, o8 = o7 + cStride, o9 = o8 + cStride, o10 = o9 + cStride, o11 = o10 + cStride;
        FloatVector c0a, c0b, c1a, c1b, c2a, c2b, c3a, c3b, c4a, c4b, c5a, c5b, c6a, c6b, c7a, c7b, c8a, c8b, c9a, c9b, c10a, c10b, c11a, c11b;
        if (accumulate) {
            c0a = FloatVector.fromArray(F, c, o0);
            c0b = FloatVector.fromArray(F, c, o0 + L);
            c1a = FloatVector.fromArray(F, c, o1);
            c1b = FloatVector.fromArray(F, c, o1 + L);
            c2a = FloatVector.fromArray(F, c, o2);
            c2b = FloatVector.fromArray(F, c, o2 + L);
            c3a = FloatVector.fromArray(F, c, o3);
            c3b = FloatVector.fromArray(F, c, o3 + L);
            c4a = FloatVector.fromArray(F, c, o4);
            c4b = FloatVector.fromArray(F, c, o4 + L);
            c5a = FloatVector.fromArray(F, c, o5);
            c5b = FloatVector.fromArray(F, c, o5 + L);
            c6a = FloatVector.fromArray(F, c, o6);
            c6b = FloatVector.fromArray(F, c, o6 + L);
            c7a = FloatVector.fromArray(F, c, o7);
            c7b = FloatVector.fromArray(F, c, o7 + L);
            c8a = FloatVector.fromArray(F, c, o8);
            c8b = FloatVector.fromArray(F, c, o8 + L);
            c9a = FloatVector.fromArray(F, c, o9);
            c9b = FloatVector.fromArray(F, c, o9 + L);
            c10a = FloatVector.fromArray(F, c, o10);
            c10b = FloatVector.fromArray(F, c, o10 + L);
            c11a = FloatVector.fromArray(F, c, o11);
            c11b = FloatVector.fromArray(F, c, o11 + L);
        } else {
            c0a = FloatVector.zero(F);
            c0b = c0a;
            c1a = c0a;
            c1b = c0a;
            c2a = c0a;
            c2b = c0a;
            c3a = c0a;
            c3b = c0a;
            c4a = c0a;
            c4b = c0a;
            c5a = c0a;
            c5b = c0a;
            c6a = c0a;
            c6b = c0a;
            c7a = c0a;
            c7b = c0a;
            c8a = c0a;
            c8b = c0a;
            c9a = c0a;
            c9b = c0a;
            c10a = c0a;
            c10b = c0a;
            c11a = c0a;
            c11b = c0a;
        }
        int x0 = xOff, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride, x4 = x3 + xStride, x5 = x4 + xStride, x6 = x5 + xStride, x7 = x6 + xStride, x8 = x7 + xStride, x9 = x8 + xStride, x10 = x9 + xStride, x11 = x10 + xStride;
        for (int k = 0; k < kc; k++) {
            FloatVector w0 = FloatVector.fromArray(F, t, k * OB);
            FloatVector w1 = FloatVector.fromArray(F, t, k * OB + L);
            FloatVector b = FloatVector.broadcast(F, x[x0 + k]);
            c0a = w0.fma(b, c0a);
            c0b = w1.fma(b, c0b);
            b = FloatVector.broadcast(F, x[x1 + k]);
            c1a = w0.fma(b, c1a);
            c1b = w1.fma(b, c1b);
            b = FloatVector.broadcast(F, x[x2 + k]);
            c2a = w0.fma(b, c2a);
            c2b = w1.fma(b, c2b);
            b = FloatVector.broadcast(F, x[x3 + k]);
            c3a = w0.fma(b, c3a);
            c3b = w1.fma(b, c3b);
            b = FloatVector.broadcast(F, x[x4 + k]);
            c4a = w0.fma(b, c4a);
            c4b = w1.fma(b, c4b);
            b = FloatVector.broadcast(F, x[x5 + k]);
            c5a = w0.fma(b, c5a);
            c5b = w1.fma(b, c5b);
            b = FloatVector.broadcast(F, x[x6 + k]);
            c6a = w0.fma(b, c6a);
            c6b = w1.fma(b, c6b);
            b = FloatVector.broadcast(F, x[x7 + k]);
            c7a = w0.fma(b, c7a);
            c7b = w1.fma(b, c7b);
            b = FloatVector.broadcast(F, x[x8 + k]);
            c8a = w0.fma(b, c8a);
            c8b = w1.fma(b, c8b);
            b = FloatVector.broadcast(F, x[x9 + k]);
            c9a = w0.fma(b, c9a);
            c9b = w1.fma(b, c9b);
            b = FloatVector.broadcast(F, x[x10 + k]);
            c10a = w0.fma(b, c10a);
            c10b = w1.fma(b, c10b);
            b = FloatVector.broadcast(F, x[x11 + k]);
            c11a = w0.fma(b, c11a);
            c11b = w1.fma(b, c11b);
        }
        c0a.intoArray(c, o0);
        c0b.intoArray(c, o0 + L);
        c1a.intoArray(c, o1);
        c1b.intoArray(c, o1 + L);
        c2a.intoArray(c, o2);
        c2b.intoArray(c, o2 + L);
        c3a.intoArray(c, o3);
        c3b.intoArray(c, o3 + L);
        c4a.intoArray(c, o4);
        c4b.intoArray(c, o4 + L);
        c5a.intoArray(c, o5);
        c5b.intoArray(c, o5 + L);
        c6a.intoArray(c, o6);
        c6b.intoArray(c, o6 + L);
        c7a.intoArray(c, o7);
        c7b.intoArray(c, o7 + L);
        c8a.intoArray(c, o8);
        c8b.intoArray(c, o8 + L);
        c9a.intoArray(c, o9);
        c9b.intoArray(c, o9 + L);
        c10a.intoArray(c, o10);
        c10b.intoArray(c, o10 + L);
        c11a.intoArray(c, o11);
        c11b.intoArray(c, o11 + L);
    }

    private static void outer1(float[] t, int kc, float[] x, int xOff, float[] acc) {
        FloatVector c0 = FloatVector.zero(F), c1 = c0;
        for (int k = 0; k < kc; k++) {
            FloatVector b = FloatVector.broadcast(F, x[xOff + k]);
            c0 = FloatVector.fromArray(F, t, k * OB).fma(b, c0);
            c1 = FloatVector.fromArray(F, t, k * OB + L).fma(b, c1);
        }
        c0.intoArray(acc, 0);
        c1.intoArray(acc, L);
    }
}
