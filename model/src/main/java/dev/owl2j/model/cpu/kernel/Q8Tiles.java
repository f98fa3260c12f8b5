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
 * Q8_0 weights repacked at load into tiles of {@link #R} = 2L rows (32 with 512-bit vectors, 16 with 256-bit), so that
 * one load of L bytes, widened, is one float vector holding the same column of L rows of a tile.
 *
 * <p><b>Why.</b> Prefill multiplies in outer-product form ({@link VectorLinear#multiplyTile}), which wants a K tile
 * of the weights as floats transposed, [k][2L rows]. From row-major blocks ({@link Q8Linear}) each row is widened
 * and then copied into that layout one float at a time; here the widened vectors already are the transposed rows and
 * are stored as they come. Decode then needs no horizontal reductions either: per block and column j, the R bytes of
 * column j (two loads of L bytes, each widened to floats) are multiplied by the broadcast x_j into per-block sums,
 * and each block adds sums · d for all R rows at once. x stays in float on every path (no activation quantization:
 * with int8 weights the Vector API's 16-bit lanes overflow after two products, see {@link QuantLinears}), so the
 * numbers are the row-major kernel's up to the order of float additions. One 7B layer against the row-major kernel in
 * one process ran decode 1.4-1.8× and prefill 1.1-1.2× faster, 256-bit vectors included (docs/performance-log.md,
 * Q8_0 in row tiles): decode then reads the weights at about the machine's measured bandwidth.
 *
 * <p><b>Layout.</b> Tile t holds rows tR .. tR + R − 1 (the last tile padded with zero rows), block after block; a
 * block is R F16 scales, then 32 groups of R int8 bytes, group j holding weight j of each row's block in row order.
 * The scales are not in row order: row i's scale sits in 16-bit lane {@code 2i} for i &lt; L and {@code 2(i − L) + 1}
 * otherwise ({@link #scaleLane}), so that one full-width load read as 32-bit lanes has rows 0 .. L − 1 in its low
 * halves and L .. 2L − 1 in its high halves, and two shifts and masks give both scale vectors in row order (the same
 * trick as {@link Q4Tiles}; that is what JDK 25 compiled to plain vector code). Memory stays at 34 bytes per 32
 * weights; the repacked copy replaces the source (a mapped file's pages are released).
 *
 * <p>Batched decode (2 to {@link VectorLinear#BLOCKED_MAX} rows) does four X rows per pass over a tile, so each
 * weight vector is widened once for four rows. Needs float vectors of at least 8 lanes (byte loads of L bytes);
 * with 128-bit vectors Q8_0 stays row-major ({@link #ENABLED}).
 */
final class Q8Tiles implements Linear {
    /** Rows per tile: two float vectors. */
    static final int R = 2 * L;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    /** L bytes: one load widens into one float vector (null where L bytes are no vector shape). */
    private static final VectorSpecies<Byte> BL = L >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    /** Bytes of one block of one tile: R scales and R·32 weights. */
    private static final int BLOCK = 34 * R;
    /**
     * Off with {@code -Downl2j.noQ8Tiles=true} (Q8_0 stays row-major, {@link Q8Linear}, for comparisons) and where
     * float vectors have fewer than 8 lanes.
     */
    static final boolean ENABLED = BL != null && dev.owl2j.model.Settings.fromSystem().q8Tiles();
    /** 2¹¹²: F16 → F32 by exponent rebias, as in {@link FloatLinears}. */
    private static final float REBIAS = 0x1p112f;
    /** F32 sign bit, and where an F16's exponent and mantissa land after a shift by 13. */
    private static final int SIGN = 0x80000000, MAGNITUDE = 0x0fffe000;

    private final int rows;
    private final int cols;
    private final int blocks;
    private final int tiles;
    private final MemorySegment data;

    private Q8Tiles(int rows, int cols, MemorySegment data) {
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / 32;
        this.tiles = (rows + R - 1) / R;
        this.data = data;
    }

    /** Whether w is a Q8_0 matrix this layout takes and the switch is on. */
    static boolean wanted(Tensor w) {
        return ENABLED && takes(w);
    }

    /** Whether the layout can hold w (any row count; columns whole blocks), switched on or not (with 8+ lanes). */
    static boolean takes(Tensor w) {
        return w.dtype() == DType.Q8_0 && w.rank() == 2 && w.dim(1) % 32 == 0 && w.dim(1) > 0;
    }

    /** w (Q8_0, row-major blocks) repacked into tiles; w's pages are released afterwards when w is a mapped file. */
    static Q8Tiles repack(Tensor w) {
        return new Q8Tiles(Math.toIntExact(w.dim(0)), Math.toIntExact(w.dim(1)), RowTiles.repack(w, 32, false));
    }

    /** The 16-bit lane of row i's scale within a tile block (see the class comment). */
    static int scaleLane(int i) {
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
        Parallel.forRange(tiles, minTiles(1), (t0, t1) -> {
            float[] part = new float[R];
            for (int t = t0; t < t1; t++) {
                boolean whole = (t + 1) * R <= rows;
                dotTile(t, x, xOff, whole ? y : part, whole ? yOff + t * R : 0);
                if (!whole) {
                    System.arraycopy(part, 0, y, yOff + t * R, rows - t * R);
                }
            }
        });
    }

    @Override
    public void matmul(float[] x, int n, float[] y) {
        if (n == 1) {
            matvec(x, 0, y, 0);
        } else if (n <= VectorLinear.BLOCKED_MAX) {
            matmulBatch(x, n, y);
        } else {
            matmulOuter(x, n, y);
        }
    }

    /** ~32k multiply-adds per chunk at least, so small matrices stay on the calling thread. */
    private int minTiles(int n) {
        return Math.max(1, (1 << 15) / Math.max(1, R * cols * n));
    }

    /*
     * As in Q4Tiles, every vector step is spelled out in the kernel's own body, with no helper method taking or
     * returning a vector: a vector passed to a method C2 did not inline is boxed on the heap.
     *
     * F16 scales: a block's R scales read as L 32-bit lanes hold rows 0 .. L-1 in the low halves and L .. 2L-1 in
     * the high halves. Sign bit and exponent-and-mantissa are moved into F32 position with shifts and masks, giving
     * the F16 value times 2^-112 (subnormals included); the multiply by REBIAS undoes that exactly before the scale
     * is used (left at 2^-112, products would fall into float subnormals and lose bits).
     */

    /**
     * y[yOff .. yOff + R) = tile t · x[xOff ..): per block, four partial sums (rows 0 .. L − 1 and L .. 2L − 1, even
     * and odd columns: four independent FMA chains), then sums · d into two accumulators.
     */
    private void dotTile(int t, float[] x, int xOff, float[] y, int yOff) {
        long base = (long) t * blocks * BLOCK;
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        for (int b = 0; b < blocks; b++, base += BLOCK) {
            FloatVector s0 = FloatVector.zero(F), s1 = s0, u0 = s0, u1 = s0;
            long g = base + 2 * R;
            int c = xOff + b * 32;
            for (int j = 0; j < 32; j += 2, g += 2 * R) {
                FloatVector xb = FloatVector.broadcast(F, x[c + j]);
                s0 = ((FloatVector) ByteVector.fromMemorySegment(BL, data, g, FloatLinears.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xb, s0);
                s1 = ((FloatVector) ByteVector.fromMemorySegment(BL, data, g + L, FloatLinears.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xb, s1);
                xb = FloatVector.broadcast(F, x[c + j + 1]);
                u0 = ((FloatVector) ByteVector.fromMemorySegment(BL, data, g + R, FloatLinears.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xb, u0);
                u1 = ((FloatVector) ByteVector.fromMemorySegment(BL, data, g + R + L, FloatLinears.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xb, u1);
            }
            IntVector sc = ShortVector.fromMemorySegment(S, data, base, FloatLinears.LE).reinterpretAsInts();
            FloatVector d0 = sc.lanewise(VectorOperators.LSHL, 16).and(SIGN)
                    .or(sc.lanewise(VectorOperators.LSHL, 13).and(MAGNITUDE)).reinterpretAsFloats().mul(REBIAS);
            FloatVector d1 = sc.and(SIGN).or(sc.lanewise(VectorOperators.LSHR, 3).and(MAGNITUDE)).reinterpretAsFloats()
                    .mul(REBIAS);
            acc0 = s0.add(u0).fma(d0, acc0);
            acc1 = s1.add(u1).fma(d1, acc1);
        }
        acc0.intoArray(y, yOff);
        acc1.intoArray(y, yOff + L);
    }

    /** Batched decode: four X rows per pass over a tile through {@link #dotTile4}. */
    private void matmulBatch(float[] x, int n, float[] y) {
        Parallel.forRange(tiles, minTiles(n), (t0, t1) -> {
            float[] out = new float[4 * R];
            for (int t = t0; t < t1; t++) {
                int valid = Math.min(R, rows - t * R);
                for (int g = 0; g < n; g += 4) {
                    // a last group of fewer than four rows repeats row n − 1; those sums are dropped
                    dotTile4(t, x, g * cols, Math.min(g + 1, n - 1) * cols, Math.min(g + 2, n - 1) * cols,
                            Math.min(g + 3, n - 1) * cols, out);
                    for (int i = 0; i < 4 && g + i < n; i++) {
                        System.arraycopy(out, i * R, y, (g + i) * rows + t * R, valid);
                    }
                }
            }
        });
    }

    /**
     * {@link #dotTile} for the four X rows at x0 .. x3 into out[i·R ..]: each weight vector is widened once and
     * multiplied with all four (eight per-block sums, one FMA chain each); per block the sums · d are added into
     * out, which holds the accumulators (keeping them in registers too would need 16 of AVX2's 16 registers).
     */
    private void dotTile4(int t, float[] x, int x0, int x1, int x2, int x3, float[] out) {
        long base = (long) t * blocks * BLOCK;
        java.util.Arrays.fill(out, 0f);
        for (int b = 0; b < blocks; b++, base += BLOCK) {
            FloatVector s00 = FloatVector.zero(F), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00,
                    s31 = s00;
            long g = base + 2 * R;
            int c = b * 32;
            for (int j = 0; j < 32; j++, g += R) {
                FloatVector w0 = (FloatVector) ByteVector.fromMemorySegment(BL, data, g, FloatLinears.LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                FloatVector w1 = (FloatVector) ByteVector.fromMemorySegment(BL, data, g + L, FloatLinears.LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                FloatVector xb = FloatVector.broadcast(F, x[x0 + c + j]);
                s00 = w0.fma(xb, s00);
                s01 = w1.fma(xb, s01);
                xb = FloatVector.broadcast(F, x[x1 + c + j]);
                s10 = w0.fma(xb, s10);
                s11 = w1.fma(xb, s11);
                xb = FloatVector.broadcast(F, x[x2 + c + j]);
                s20 = w0.fma(xb, s20);
                s21 = w1.fma(xb, s21);
                xb = FloatVector.broadcast(F, x[x3 + c + j]);
                s30 = w0.fma(xb, s30);
                s31 = w1.fma(xb, s31);
            }
            IntVector sc = ShortVector.fromMemorySegment(S, data, base, FloatLinears.LE).reinterpretAsInts();
            FloatVector d0 = sc.lanewise(VectorOperators.LSHL, 16).and(SIGN)
                    .or(sc.lanewise(VectorOperators.LSHL, 13).and(MAGNITUDE)).reinterpretAsFloats().mul(REBIAS);
            FloatVector d1 = sc.and(SIGN).or(sc.lanewise(VectorOperators.LSHR, 3).and(MAGNITUDE)).reinterpretAsFloats()
                    .mul(REBIAS);
            s00.fma(d0, FloatVector.fromArray(F, out, 0)).intoArray(out, 0);
            s01.fma(d1, FloatVector.fromArray(F, out, L)).intoArray(out, L);
            s10.fma(d0, FloatVector.fromArray(F, out, R)).intoArray(out, R);
            s11.fma(d1, FloatVector.fromArray(F, out, R + L)).intoArray(out, R + L);
            s20.fma(d0, FloatVector.fromArray(F, out, 2 * R)).intoArray(out, 2 * R);
            s21.fma(d1, FloatVector.fromArray(F, out, 2 * R + L)).intoArray(out, 2 * R + L);
            s30.fma(d0, FloatVector.fromArray(F, out, 3 * R)).intoArray(out, 3 * R);
            s31.fma(d1, FloatVector.fromArray(F, out, 3 * R + L)).intoArray(out, 3 * R + L);
        }
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
            FloatVector d0 = sc.lanewise(VectorOperators.LSHL, 16).and(SIGN)
                    .or(sc.lanewise(VectorOperators.LSHL, 13).and(MAGNITUDE)).reinterpretAsFloats().mul(REBIAS);
            FloatVector d1 = sc.and(SIGN).or(sc.lanewise(VectorOperators.LSHR, 3).and(MAGNITUDE)).reinterpretAsFloats()
                    .mul(REBIAS);
            long g = base + 2 * R;
            for (int j = 0; j < 32; j++, g += R) {
                int o = (e + j) * R;
                ((FloatVector) ByteVector.fromMemorySegment(BL, data, g, FloatLinears.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d0).intoArray(tile, o);
                ((FloatVector) ByteVector.fromMemorySegment(BL, data, g + L, FloatLinears.LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d1).intoArray(tile, o + L);
            }
        }
    }
}
