package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static dev.owl2j.model.cpu.kernel.VectorLinear.F;
import static dev.owl2j.model.cpu.kernel.VectorLinear.L;

/**
 * Q4_0 weights repacked at load into tiles of {@link #R} = 2L rows (32 with 512-bit vectors, 16 with 256-bit), so
 * that one vector holds the same column of every row of a tile, and multiplied with integer arithmetic.
 *
 * <p><b>Why integers.</b> Widening each 4-bit weight to a float (the row-major kernel, {@link Q4Linear}) costs
 * about nine vector operations per 32 weights, and with two cores that, not the memory, bounds Q4_0 decode. Here x is
 * quantized once per call exactly as llama.cpp quantizes activations for its Q4_0 dot product (Q8_0 blocks of 32:
 * d = amax/127, x_q = round(x/d), d kept as F16; {@link QuantizedX}), and a tile's block is
 * Σ_c (q_c − 8)·x_q,c in 16-bit lanes: the weight bytes of one column of all R rows are one zero-extended load, the
 * low and high nibbles an {@code and} and a shift, then one 16-bit multiply by the broadcast x_q and one add each.
 * The Vector API has no int8 dot-product instruction (VNNI), but 16-bit multiplies are plain SIMD; the sums cannot
 * overflow: each 16-bit lane adds 16 products of at most 15·127, 30480 &lt; 2¹⁵. Per block the two lane sums are
 * widened to 32 bits, −8·Σx_q is added, and the result, an exact integer, is converted once and scaled by
 * d_w·d_x. So the numbers are llama.cpp's Q4_0 × Q8_0 dot (up to the order of float additions), with x's
 * quantization error, reported in docs/performance.md (Accuracy of the quantized modes). The same scheme in C
 * does two to three times the float row kernel's work per core, and decode in Java ran 1.4-2.2× faster than the
 * row-major kernel (docs/performance-log.md, Q4_0 in row tiles).
 *
 * <p><b>Layout.</b> Tile t holds rows tR .. tR + R − 1 (the last tile padded with zero rows), block after block; a
 * block is R F16 scales then 16 groups of R bytes, group j holding byte j of each row's Q4_0 block (low nibble:
 * column j, high nibble: column j + 16). Within a tile, row i sits in 16-bit lane {@code 2i} for i &lt; L and
 * {@code 2(i − L) + 1} otherwise: read as 32-bit lanes, the low halves are then rows 0 .. L − 1 and the high
 * halves rows L .. 2L − 1 in order, so a shift and a mask split a 16-bit vector into two int vectors in row order
 * (the Vector API's part-selecting widening from 16 to 32 bits was not compiled to vector code by JDK 25: boxed
 * vectors, 50× slower). The same holds for the scales. The repacked copy replaces the source (a mapped file's pages
 * are released), so memory stays at 18 bytes per 32 weights.
 *
 * <p>Batched decode (2 to {@link VectorLinear#BLOCKED_MAX} rows) runs the integer kernel for four X rows per pass
 * over a tile, so each weight vector is unpacked once for four rows. Longer inputs (prefill) with 512-bit vectors
 * quantize x as decode does and multiply in 16-bit integers ({@link #matmulInt16}; {@code owl2j.int16Prefill}, on
 * by default); with narrower vectors (or the setting off) a K tile of all R rows is widened to floats straight into
 * the transposed layout of the outer-product kernel ({@link VectorLinear}) and x stays in float.
 */
final class Q4Tiles implements Linear {
    /** Rows per tile: as many as a vector has 16-bit lanes. */
    static final int R = 2 * L;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    private static final VectorSpecies<Byte> BR = VectorSpecies.of(byte.class, VectorShape.forBitSize(R * 8));
    /** 2R bytes: bytes j and j + 1 of all R rows of a tile block, as {@link #widenPair} reads them. */
    private static final VectorSpecies<Byte> B2 = VectorSpecies.of(byte.class, F.vectorShape());
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** Bytes of one block of one tile: R scales and R·16 quantized bytes. */
    private static final int BLOCK = 18 * R;
    /** Off with {@code -Downl2j.noQ4Tiles=true}: Q4_0 stays row-major with the float kernels (for comparisons). */
    static final boolean ENABLED = dev.owl2j.model.Settings.fromSystem().q4Tiles();
    /** 2¹¹²: F16 → F32 by exponent rebias, as in {@link FloatLinears}. */
    private static final float REBIAS = 0x1p112f;

    private final int rows;
    private final int cols;
    private final int blocks;
    private final int tiles;
    private final MemorySegment data;

    private Q4Tiles(int rows, int cols, MemorySegment data) {
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / 32;
        this.tiles = (rows + R - 1) / R;
        this.data = data;
    }

    /** Whether w is a Q4_0 matrix this layout takes (any row count; columns are whole blocks by Q4_0's shape). */
    static boolean wanted(Tensor w) {
        return ENABLED && takes(w);
    }

    /** Whether the layout can hold w, switched on or not. */
    static boolean takes(Tensor w) {
        return w.dtype() == DType.Q4_0 && w.rank() == 2 && w.dim(1) % 32 == 0 && w.dim(1) > 0;
    }

    /** w (Q4_0, row-major blocks) repacked into tiles; w's pages are released afterwards when w is a mapped file. */
    static Q4Tiles repack(Tensor w) {
        return new Q4Tiles(Math.toIntExact(w.dim(0)), Math.toIntExact(w.dim(1)), RowTiles.repack(w, 16, true));
    }

    /** The 16-bit lane of a tile's row i (see the class comment; {@link RowTiles} repacks both layouts). */
    static int lane(int i) {
        return RowTiles.lane(i);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public long byteSize() {
        return data.byteSize();
    }

    @Override
    public void matvec(float[] x, int xOff, float[] y, int yOff) {
        QuantizedX q = QuantizedX.of(x, xOff, 1, cols);
        Parallel.forRange(tiles, minTiles(1), (t0, t1) -> {
            float[] part = new float[R];
            for (int t = t0; t < t1; t++) {
                tileInto(t, q, y, yOff, part);
            }
        });
    }

    /** y[yOff + tR ..] = tile t · x (q quantized), through part where the tile has padding rows. */
    private void tileInto(int t, QuantizedX q, float[] y, int yOff, float[] part) {
        boolean whole = (t + 1) * R <= rows;
        dotTile(t, q, 0, whole ? y : part, whole ? yOff + t * R : 0);
        if (!whole) {
            System.arraycopy(part, 0, y, yOff + t * R, rows - t * R);
        }
    }

    /**
     * A decode step's group of Q4_0 matrices over one x (q/k/v, gate/up): x quantized once, and the tiles of all of
     * them one parallel pass, so the threads meet once per group instead of once per matrix. Anything else (other
     * kernels in the group, several X rows) runs matrix by matrix.
     */
    @Override
    public void matmulGroup(Linear[] group, float[] x, int n, float[][] ys) {
        int[] first = new int[group.length + 1];
        for (int i = 0; i < group.length; i++) {
            if (n != 1 || !(group[i] instanceof Q4Tiles w) || w.cols != cols) {
                Linear.super.matmulGroup(group, x, n, ys);
                return;
            }
            first[i + 1] = first[i] + w.tiles;
        }
        QuantizedX q = QuantizedX.of(x, 0, 1, cols);
        Parallel.forRange(first[group.length], minTiles(1), (t0, t1) -> {
            float[] part = new float[R];
            int i = 0;
            for (int t = t0; t < t1; t++) {
                while (t >= first[i + 1]) {
                    i++;
                }
                ((Q4Tiles) group[i]).tileInto(t - first[i], q, ys[i], 0, part);
            }
        });
    }

    @Override
    public void matmul(float[] x, int n, float[] y) {
        if (n == 1) {
            matvec(x, 0, y, 0);
        } else if (n <= VectorLinear.BLOCKED_MAX) {
            matmulInt(x, n, y);
        } else if (INT16_PREFILL) {
            matmulInt16(x, n, y);
        } else {
            matmulOuter(x, n, y);
        }
    }

    /** ~32k multiply-adds per chunk at least, so small matrices stay on the calling thread. */
    private int minTiles(int n) {
        return Math.max(1, (1 << 15) / Math.max(1, R * cols * n));
    }

    /*
     * The kernels below spell out every vector step in their own body, with no helper method taking or returning a
     * vector: C2 stops inlining into a method once its node count passes a cutoff, which these vector-heavy loops
     * reach, and a vector handed to a method that was not inlined is boxed on the heap (the first batched kernel,
     * written with a helper per row, ran 5-10x slower than the row-major one for that reason). The Vector API's own
     * methods are force-inlined and not subject to the cutoff.
     *
     * F16 scales: a tile block's R scales are read as L 32-bit lanes, rows 0 .. L-1 in the low halves and
     * L .. 2L-1 in the high halves (see the class comment). Sign bit and exponent-and-mantissa are moved into F32
     * position with shifts and masks, giving the F16 value times 2^-112 (subnormals included), undone by REBIAS.
     */

    /**
     * y[yOff .. yOff + R) = tile t · X row {@code xr} of q: one block at a time, the two 16-bit lane sums (columns
     * 0-15 and 16-31 of the block) widened into even and odd 32-bit halves, i.e. rows 0 .. L − 1 and L .. 2L − 1.
     */
    private void dotTile(int t, QuantizedX q, int xr, float[] y, int yOff) {
        short[] xq = q.values();
        int[] sums = q.sums();
        float[] scales = q.scales();
        int xo = xr * cols;
        int bo = xr * blocks;
        long base = (long) t * blocks * BLOCK;
        FloatVector accE = FloatVector.zero(F), accO = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, base += BLOCK) {
            ShortVector lo = ShortVector.zero(S), hi = ShortVector.zero(S);
            long g = base + 2 * R;
            int c = xo + b * 32;
            for (int j = 0; j < 16; j++, g += R) {
                ShortVector w = (ShortVector) ByteVector.fromMemorySegment(BR, data, g, FloatLinears.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                lo = lo.add(w.and((short) 0x0f).mul(xq[c + j]));
                hi = hi.add(w.lanewise(VectorOperators.LSHR, 4).mul(xq[c + 16 + j]));
            }
            int off = -8 * sums[bo + b];
            float d = scales[bo + b] * REBIAS;
            IntVector li = lo.reinterpretAsInts(), hiI = hi.reinterpretAsInts();
            IntVector sumE = li.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(hiI.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(off);
            IntVector sumO = li.lanewise(VectorOperators.ASHR, 16).add(hiI.lanewise(VectorOperators.ASHR, 16)).add(off);
            IntVector sc = ShortVector.fromMemorySegment(S, data, base, FloatLinears.LE).reinterpretAsInts();
            FloatVector dE = sc.lanewise(VectorOperators.LSHL, 16).and(SIGN)
                    .or(sc.lanewise(VectorOperators.LSHL, 13).and(MAGNITUDE)).reinterpretAsFloats();
            FloatVector dO = sc.and(SIGN).or(sc.lanewise(VectorOperators.LSHR, 3).and(MAGNITUDE)).reinterpretAsFloats();
            accE = ((FloatVector) sumE.convert(VectorOperators.I2F, 0)).fma(dE.mul(d), accE);
            accO = ((FloatVector) sumO.convert(VectorOperators.I2F, 0)).fma(dO.mul(d), accO);
        }
        accE.intoArray(y, yOff);
        accO.intoArray(y, yOff + L);
    }

    /** F32 sign bit, and where an F16's exponent and mantissa land after a shift by 13. */
    private static final int SIGN = 0x80000000, MAGNITUDE = 0x0fffe000;

    /** Batched decode: X rows quantized, four at a time through {@link #dotTile4}. */
    private void matmulInt(float[] x, int n, float[] y) {
        QuantizedX q = QuantizedX.of(x, 0, n, cols);
        Parallel.forRange(tiles, minTiles(n), (t0, t1) -> {
            float[] out = new float[4 * R];
            int[] sums = new int[8 * L];
            int[] xs = new int[4];
            for (int t = t0; t < t1; t++) {
                int valid = Math.min(R, rows - t * R);
                for (int g = 0; g < n; g += 4) {
                    // a last group of fewer than four rows repeats row n − 1; those sums are dropped
                    for (int i = 0; i < 4; i++) xs[i] = Math.min(g + i, n - 1);
                    dotTile4(t, q, xs, sums, out);
                    for (int i = 0; i < 4 && g + i < n; i++) {
                        System.arraycopy(out, i * R, y, (g + i) * rows + t * R, valid);
                    }
                }
            }
        });
    }

    /**
     * {@link #dotTile} for the four X rows xs into out[i·R ..]: each weight vector is unpacked once for all four.
     * Per block the eight 16-bit sums go through the int scratch {@code acc} (two vectors per X row) so that the
     * scaling runs as a loop over the rows rather than four copies of it.
     */
    private void dotTile4(int t, QuantizedX q, int[] xs, int[] acc, float[] out) {
        short[] xq = q.values();
        int[] sums = q.sums();
        float[] scales = q.scales();
        long base = (long) t * blocks * BLOCK;
        java.util.Arrays.fill(out, 0f);
        int x0 = xs[0] * cols, x1 = xs[1] * cols, x2 = xs[2] * cols, x3 = xs[3] * cols;
        for (int b = 0; b < blocks; b++, base += BLOCK) {
            ShortVector l0 = ShortVector.zero(S), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
            long g = base + 2 * R;
            int c0 = x0 + b * 32, c1 = x1 + b * 32, c2 = x2 + b * 32, c3 = x3 + b * 32;
            for (int j = 0; j < 16; j++, g += R) {
                ShortVector w = (ShortVector) ByteVector.fromMemorySegment(BR, data, g, FloatLinears.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                ShortVector wl = w.and((short) 0x0f);
                ShortVector wh = w.lanewise(VectorOperators.LSHR, 4);
                l0 = l0.add(wl.mul(xq[c0 + j]));
                h0 = h0.add(wh.mul(xq[c0 + 16 + j]));
                l1 = l1.add(wl.mul(xq[c1 + j]));
                h1 = h1.add(wh.mul(xq[c1 + 16 + j]));
                l2 = l2.add(wl.mul(xq[c2 + j]));
                h2 = h2.add(wh.mul(xq[c2 + 16 + j]));
                l3 = l3.add(wl.mul(xq[c3 + j]));
                h3 = h3.add(wh.mul(xq[c3 + 16 + j]));
            }
            l0.reinterpretAsInts().intoArray(acc, 0);
            h0.reinterpretAsInts().intoArray(acc, L);
            l1.reinterpretAsInts().intoArray(acc, 2 * L);
            h1.reinterpretAsInts().intoArray(acc, 3 * L);
            l2.reinterpretAsInts().intoArray(acc, 4 * L);
            h2.reinterpretAsInts().intoArray(acc, 5 * L);
            l3.reinterpretAsInts().intoArray(acc, 6 * L);
            h3.reinterpretAsInts().intoArray(acc, 7 * L);
            IntVector sc = ShortVector.fromMemorySegment(S, data, base, FloatLinears.LE).reinterpretAsInts();
            FloatVector dE = sc.lanewise(VectorOperators.LSHL, 16).and(SIGN)
                    .or(sc.lanewise(VectorOperators.LSHL, 13).and(MAGNITUDE)).reinterpretAsFloats().mul(REBIAS);
            FloatVector dO = sc.and(SIGN).or(sc.lanewise(VectorOperators.LSHR, 3).and(MAGNITUDE)).reinterpretAsFloats()
                    .mul(REBIAS);
            for (int i = 0; i < 4; i++) {
                int xb = xs[i] * blocks + b;
                int o = i * R;
                IntVector li = IntVector.fromArray(I, acc, 2 * i * L), hiI = IntVector.fromArray(I, acc, (2 * i + 1) * L);
                IntVector sumE = li.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(hiI.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).add(-8 * sums[xb]);
                IntVector sumO = li.lanewise(VectorOperators.ASHR, 16).add(hiI.lanewise(VectorOperators.ASHR, 16))
                        .add(-8 * sums[xb]);
                float d = scales[xb];
                ((FloatVector) sumE.convert(VectorOperators.I2F, 0)).fma(dE.mul(d), FloatVector.fromArray(F, out, o))
                        .intoArray(out, o);
                ((FloatVector) sumO.convert(VectorOperators.I2F, 0)).fma(dO.mul(d), FloatVector.fromArray(F, out, o + L))
                        .intoArray(out, o + L);
            }
        }
    }

    /**
     * Prefill with 16-bit integer products (for 512-bit vectors: with 256-bit ones its 16 accumulators do not fit
     * the registers): x quantized to Q8_0 like decode, each K tile of the tile's R rows
     * widened once to (q − 8) in 16-bit lanes, two consecutive columns of a row in one 32-bit lane, then for every
     * four X rows one 32-bit broadcast of a column pair of x feeds a 16-bit multiply and add for all R rows.
     * |(q − 8)·x_q| ≤ 8·127, so a lane's 16 products per block fit in 16 bits; per block the two halves of a 32-bit
     * lane are added as ints, converted once and scaled by d_w·d_x into float sums that stay in registers across
     * the K tile. The micro-kernel alone does 1.37× the float kernel's work per CPU second (C: 1.35-1.45×); with x
     * quantized by vector code a 7B prefill ran 1.1-1.4× faster than with the float kernel (docs/performance-log.md,
     * Int16 prefill by default), so it is the default with 512-bit vectors ({@code owl2j.int16Prefill=false} turns
     * it off). Correct at any vector width (Q4TilesTest calls it directly).
     */
    static final boolean INT16_PREFILL = L == 16 && dev.owl2j.model.Settings.fromSystem().int16Prefill();

    void matmulInt16(float[] x, int n, float[] y) {
        QuantizedX q = QuantizedX.of(x, 0, n, cols);
        short[] v = q.values();
        float[] dx = q.scales();
        int half = cols / 2;
        int[] pairs = new int[n * half];
        Parallel.forRange(n, 4, (r0, r1) -> {
            int i = r0 * half, end = r1 * half;
            // two 16-bit values as one int, the first in the low half: the shorts' own order, read as ints
            for (; i + I.length() <= end; i += I.length()) {
                ShortVector.fromArray(S, v, 2 * i).reinterpretAsInts().intoArray(pairs, i);
            }
            for (; i < end; i++) {
                pairs[i] = (v[2 * i] & 0xffff) | (v[2 * i + 1] << 16);
            }
        });
        int groups = (n + 3) / 4;
        Parallel.forRange(tiles, 1, (t0, t1) -> {
            short[] wt = new short[VectorLinear.OK * R];
            float[] ws = new float[VectorLinear.OK / 32 * R];
            float[] yt = new float[groups * 4 * R];
            for (int t = t0; t < t1; t++) {
                for (int k0 = 0; k0 < cols; k0 += VectorLinear.OK) {
                    int kc = Math.min(VectorLinear.OK, cols - k0);
                    widenInt16(t, k0, kc, wt, ws);
                    for (int g = 0; g < n; g += 4) {
                        // a last group of fewer than four rows repeats row n − 1; those sums are dropped
                        int x1 = Math.min(g + 1, n - 1), x2 = Math.min(g + 2, n - 1), x3 = Math.min(g + 3, n - 1);
                        dot4Int16(wt, ws, kc, pairs, g * half + k0 / 2, x1 * half + k0 / 2, x2 * half + k0 / 2,
                                x3 * half + k0 / 2, dx, g * blocks + k0 / 32, x1 * blocks + k0 / 32,
                                x2 * blocks + k0 / 32, x3 * blocks + k0 / 32, yt, g * R, k0 > 0);
                    }
                }
                int valid = Math.min(R, rows - t * R);
                for (int i = 0; i < n; i++) {
                    System.arraycopy(yt, i * R, y, i * rows + t * R, valid);
                }
            }
        });
    }

    /**
     * wt[(p·2 + h)·L·2 ..] = the K tile's column pair p (columns k0 + 2p, k0 + 2p + 1) as (q − 8) of rows
     * hL .. hL + L − 1, one row per 32-bit lane (low half the even column); ws[b·R + i] = row i's d_w of block b.
     */
    private void widenInt16(int t, int k0, int kc, short[] wt, float[] ws) {
        long base = ((long) t * blocks + k0 / 32) * BLOCK;
        for (int bb = 0; bb < kc / 32; bb++, base += BLOCK) {
            IntVector sc = ShortVector.fromMemorySegment(S, data, base, FloatLinears.LE).reinterpretAsInts();
            sc.lanewise(VectorOperators.LSHL, 16).and(SIGN).or(sc.lanewise(VectorOperators.LSHL, 13).and(MAGNITUDE))
                    .reinterpretAsFloats().mul(REBIAS).intoArray(ws, bb * R);
            sc.and(SIGN).or(sc.lanewise(VectorOperators.LSHR, 3).and(MAGNITUDE)).reinterpretAsFloats().mul(REBIAS)
                    .intoArray(ws, bb * R + L);
            int w = bb * 16 * 2 * R;
            for (int p = 0; p < 8; p++) {
                widenPair(base + 2 * R + 2L * p * R, wt, w + p * 2 * R, w + (p + 8) * 2 * R);
            }
        }
    }

    /**
     * Bytes j and j + 1 of every row of a tile block (at g and g + R): their low nibbles, columns j and j + 1, to
     * wt[lo ..] (rows 0 .. L − 1, then L .. 2L − 1 at lo + R), their high nibbles, columns j + 16 and j + 17, to
     * wt[hi ..], each as (q − 8) in 16-bit lanes, the two columns of a row in one 32-bit lane.
     */
    private void widenPair(long g, short[] wt, int lo, int hi) {
        // both rows of bytes in one load (the memory segment's bounds checked once, not twice): 1.01-1.015x over
        // whole layers (docs/performance-log.md, Int16 prefill: unrolled by two and one multiply per block sum)
        ByteVector both = ByteVector.fromMemorySegment(B2, data, g, FloatLinears.LE);
        IntVector v0 = ((ShortVector) both.convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0)).reinterpretAsInts();
        IntVector v1 = ((ShortVector) both.convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 1)).reinterpretAsInts();
        // as ints, lane i of v0 holds row i's byte in its low half and row i + L's in its high half (the tile's
        // lane order); each byte is column j (low nibble) and column j + 16 (high nibble), v1 the same for j + 1
        v0.and(0x0f).or(v1.and(0x0f).lanewise(VectorOperators.LSHL, 16))
                .reinterpretAsShorts().sub((short) 8).intoArray(wt, lo);
        v0.lanewise(VectorOperators.LSHR, 16).and(0x0f).or(v1.and(0x0f0000))
                .reinterpretAsShorts().sub((short) 8).intoArray(wt, lo + R);
        v0.lanewise(VectorOperators.LSHR, 4).and(0x0f).or(v1.lanewise(VectorOperators.LSHL, 12).and(0x0f0000))
                .reinterpretAsShorts().sub((short) 8).intoArray(wt, hi);
        v0.lanewise(VectorOperators.LSHR, 20).and(0x0f).or(v1.lanewise(VectorOperators.LSHR, 4).and(0x0f0000))
                .reinterpretAsShorts().sub((short) 8).intoArray(wt, hi + R);
    }

    /**
     * out[o + i·R + r] (+)= Σ over the K tile of row r · X row i (i = 0..3, pair offsets p0..p3 into pairs, block
     * offsets b0..b3 into dx): eight 16-bit sums per block (four X rows × two vectors of L rows), eight float sums
     * in registers across the K tile, started from out when accumulate is set.
     */
    private static void dot4Int16(short[] wt, float[] ws, int kc, int[] pairs, int p0, int p1, int p2, int p3,
                                  float[] dx, int b0, int b1, int b2, int b3, float[] out, int o, boolean accumulate) {
        FloatVector f00, f01, f10, f11, f20, f21, f30, f31;
        if (accumulate) {
            f00 = FloatVector.fromArray(F, out, o);
            f01 = FloatVector.fromArray(F, out, o + L);
            f10 = FloatVector.fromArray(F, out, o + R);
            f11 = FloatVector.fromArray(F, out, o + R + L);
            f20 = FloatVector.fromArray(F, out, o + 2 * R);
            f21 = FloatVector.fromArray(F, out, o + 2 * R + L);
            f30 = FloatVector.fromArray(F, out, o + 3 * R);
            f31 = FloatVector.fromArray(F, out, o + 3 * R + L);
        } else {
            f00 = FloatVector.zero(F);
            f01 = f00;
            f10 = f00;
            f11 = f00;
            f20 = f00;
            f21 = f00;
            f30 = f00;
            f31 = f00;
        }
        for (int b = 0, nb = kc / 32; b < nb; b++) {
            ShortVector a00 = ShortVector.zero(S), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            int wo = b * 16 * 2 * R;
            int q0 = p0 + b * 16, q1 = p1 + b * 16, q2 = p2 + b * 16, q3 = p3 + b * 16;
            // two column pairs per trip, written out: C2 does not unroll this loop by itself, and its counter and
            // index arithmetic then cost 1.02-1.03x (docs/performance-log.md, Int16 prefill: unrolled by two and
            // one multiply per block sum); four pairs per trip were slower (0.95x)
            for (int p = 0; p < 16; p += 2, wo += 4 * R, q0 += 2, q1 += 2, q2 += 2, q3 += 2) {
                ShortVector w0, w1, xb;
                w0 = ShortVector.fromArray(S, wt, wo);
                w1 = ShortVector.fromArray(S, wt, wo + R);
                xb = IntVector.broadcast(I, pairs[q0]).reinterpretAsShorts();
                a00 = a00.add(w0.mul(xb));
                a01 = a01.add(w1.mul(xb));
                xb = IntVector.broadcast(I, pairs[q1]).reinterpretAsShorts();
                a10 = a10.add(w0.mul(xb));
                a11 = a11.add(w1.mul(xb));
                xb = IntVector.broadcast(I, pairs[q2]).reinterpretAsShorts();
                a20 = a20.add(w0.mul(xb));
                a21 = a21.add(w1.mul(xb));
                xb = IntVector.broadcast(I, pairs[q3]).reinterpretAsShorts();
                a30 = a30.add(w0.mul(xb));
                a31 = a31.add(w1.mul(xb));
                w0 = ShortVector.fromArray(S, wt, wo + 2 * R);
                w1 = ShortVector.fromArray(S, wt, wo + 3 * R);
                xb = IntVector.broadcast(I, pairs[q0 + 1]).reinterpretAsShorts();
                a00 = a00.add(w0.mul(xb));
                a01 = a01.add(w1.mul(xb));
                xb = IntVector.broadcast(I, pairs[q1 + 1]).reinterpretAsShorts();
                a10 = a10.add(w0.mul(xb));
                a11 = a11.add(w1.mul(xb));
                xb = IntVector.broadcast(I, pairs[q2 + 1]).reinterpretAsShorts();
                a20 = a20.add(w0.mul(xb));
                a21 = a21.add(w1.mul(xb));
                xb = IntVector.broadcast(I, pairs[q3 + 1]).reinterpretAsShorts();
                a30 = a30.add(w0.mul(xb));
                a31 = a31.add(w1.mul(xb));
            }
            FloatVector d0 = FloatVector.fromArray(F, ws, b * R), d1 = FloatVector.fromArray(F, ws, b * R + L);
            // the two 16-bit sums of each 32-bit lane (a row's even and odd columns of the block) added: each is at
            // most 16·8·127 = 16,256 in magnitude, so their sum fits 16 bits too; formed in the high half by one
            // 32-bit multiply, s·65537 = s + (s << 16) (mod 2^32), and shifted down with its sign (one instruction
            // fewer than the shift and add). Written out eight times: a helper method taking and
            // returning vectors was not inlined into this large method, and the boxed vectors made a 7B prefill
            // twenty times slower (docs/performance-log.md, Where a decode step and a prefill spend their time).
            IntVector s;
            s = a00.reinterpretAsInts();
            f00 = ((FloatVector) s.mul(65537).lanewise(VectorOperators.ASHR, 16)
                    .convert(VectorOperators.I2F, 0)).fma(d0.mul(dx[b0 + b]), f00);
            s = a01.reinterpretAsInts();
            f01 = ((FloatVector) s.mul(65537).lanewise(VectorOperators.ASHR, 16)
                    .convert(VectorOperators.I2F, 0)).fma(d1.mul(dx[b0 + b]), f01);
            s = a10.reinterpretAsInts();
            f10 = ((FloatVector) s.mul(65537).lanewise(VectorOperators.ASHR, 16)
                    .convert(VectorOperators.I2F, 0)).fma(d0.mul(dx[b1 + b]), f10);
            s = a11.reinterpretAsInts();
            f11 = ((FloatVector) s.mul(65537).lanewise(VectorOperators.ASHR, 16)
                    .convert(VectorOperators.I2F, 0)).fma(d1.mul(dx[b1 + b]), f11);
            s = a20.reinterpretAsInts();
            f20 = ((FloatVector) s.mul(65537).lanewise(VectorOperators.ASHR, 16)
                    .convert(VectorOperators.I2F, 0)).fma(d0.mul(dx[b2 + b]), f20);
            s = a21.reinterpretAsInts();
            f21 = ((FloatVector) s.mul(65537).lanewise(VectorOperators.ASHR, 16)
                    .convert(VectorOperators.I2F, 0)).fma(d1.mul(dx[b2 + b]), f21);
            s = a30.reinterpretAsInts();
            f30 = ((FloatVector) s.mul(65537).lanewise(VectorOperators.ASHR, 16)
                    .convert(VectorOperators.I2F, 0)).fma(d0.mul(dx[b3 + b]), f30);
            s = a31.reinterpretAsInts();
            f31 = ((FloatVector) s.mul(65537).lanewise(VectorOperators.ASHR, 16)
                    .convert(VectorOperators.I2F, 0)).fma(d1.mul(dx[b3 + b]), f31);
        }
        f00.intoArray(out, o);
        f01.intoArray(out, o + L);
        f10.intoArray(out, o + R);
        f11.intoArray(out, o + R + L);
        f20.intoArray(out, o + 2 * R);
        f21.intoArray(out, o + 2 * R + L);
        f30.intoArray(out, o + 3 * R);
        f31.intoArray(out, o + 3 * R + L);
    }

    /**
     * Prefill: for each tile and K tile of {@link VectorLinear#OK} columns, the weights of all R rows widened to
     * floats straight into [k][R] (row order), then every X row multiplied by it in outer-product form.
     */
    private void matmulOuter(float[] x, int n, float[] y) {
        int minTiles = Math.max(1, (1 << 16) / Math.max(1, R * cols * n));
        Parallel.forRange(tiles, minTiles, (t0, t1) -> {
            float[] tile = new float[VectorLinear.OK * R];
            float[] acc = new float[2 * VectorLinear.ONR * R];
            for (int t = t0; t < t1; t++) {
                int nr = Math.min(R, rows - t * R);
                for (int k0 = 0; k0 < cols; k0 += VectorLinear.OK) {
                    int kc = Math.min(VectorLinear.OK, cols - k0);
                    widenTile(t, k0, kc, tile);
                    VectorLinear.multiplyTile(tile, kc, x, n, cols, y, rows, t * R, nr, k0, acc);
                }
            }
        });
    }

    /** tile[k·R + i] = W[tR + i, k0 + k] for k in [0, kc) (kc a multiple of 32). */
    private void widenTile(int t, int k0, int kc, float[] tile) {
        long base = ((long) t * blocks + k0 / 32) * BLOCK;
        for (int e = 0; e < kc; e += 32, base += BLOCK) {
            IntVector sc = ShortVector.fromMemorySegment(S, data, base, FloatLinears.LE).reinterpretAsInts();
            FloatVector dE = sc.lanewise(VectorOperators.LSHL, 16).and(SIGN)
                    .or(sc.lanewise(VectorOperators.LSHL, 13).and(MAGNITUDE)).reinterpretAsFloats().mul(REBIAS);
            FloatVector dO = sc.and(SIGN).or(sc.lanewise(VectorOperators.LSHR, 3).and(MAGNITUDE)).reinterpretAsFloats()
                    .mul(REBIAS);
            long g = base + 2 * R;
            for (int j = 0; j < 16; j++, g += R) {
                IntVector v = ((ShortVector) ByteVector.fromMemorySegment(BR, data, g, FloatLinears.LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0)).reinterpretAsInts();
                IntVector be = v.and(0xff), bo = v.lanewise(VectorOperators.LSHR, 16);
                int lo = (e + j) * R, hi = (e + 16 + j) * R;
                ((FloatVector) be.and(0x0f).sub(8).convert(VectorOperators.I2F, 0)).mul(dE).intoArray(tile, lo);
                ((FloatVector) bo.and(0x0f).sub(8).convert(VectorOperators.I2F, 0)).mul(dO).intoArray(tile, lo + L);
                ((FloatVector) be.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(dE).intoArray(tile, hi);
                ((FloatVector) bo.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(dO).intoArray(tile, hi + L);
            }
        }
    }
}
