package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.owl2j.model.cpu.kernel.QuantLinears.B16;
import static dev.owl2j.model.cpu.kernel.QuantLinears.BP;
import static dev.owl2j.model.cpu.kernel.QuantLinears.PARTS;
import static dev.owl2j.model.cpu.kernel.QuantLinears.PB;
import static dev.owl2j.model.cpu.kernel.QuantLinears.SUB;

/**
 * Q8_0 weights (llama.cpp's blocks: an F16 scale d, then 32 int8 weights) multiplied as stored, row by row: each group
 * of bytes is widened to floats in registers, multiplied with x by FMA into a per-block sum s, and the block adds d·s.
 * Decode reads every weight once (1.06 bytes per weight); see {@link QuantLinears} for why floats. Q8_0 goes through
 * {@link Q8Tiles} (the same arithmetic on rows repacked into tiles) unless {@code owl2j.noQ8Tiles} is set; this is
 * the fallback and the reference it was measured against.
 */
final class Q8Linear extends VectorLinear {
    private final long rowBytes;

    Q8Linear(Tensor w) {
        super(w);
        if (w.dtype() != DType.Q8_0) {
            throw new IllegalArgumentException(w.name() + " is " + w.dtype() + ", not Q8_0");
        }
        rowBytes = (long) cols / 32 * 34;
    }

    @Override
    public void matvec(float[] xIn, int xInOff, float[] y, int yOff) {
        AlignedRows.Rows aligned = AlignedRows.ofRow(xIn, xInOff, cols);
        float[] x = aligned.data();
        int xOff = aligned.offset();
        Parallel.forRange(rows, matvecMinRows(), (start, end) -> {
            for (int r = start; r < end; r++) {
                y[yOff + r] = dotRow(r, x, xOff);
            }
        });
    }

    @Override
    Parallel.RangeBody outerBody(float[] x, int n, float[] y) {
        return (start, end) -> {
            OuterTile t = new OuterTile();
            for (int b = start; b < end; b++) {
                for (int k0 = 0; k0 < cols; k0 += OK) {
                    for (int r = 0, nr = t.start(b, k0); r < nr; r++) {
                        widen(t.r0 + r, k0, t.kc, t.row, 0);
                        t.put(r);
                    }
                    t.multiply(x, n, y, k0);
                }
            }
        };
    }

    @Override
    float dotRow(int row, float[] x, int xOff) {
        return PB < 16 ? dotRowIndexed(row, x, xOff) : dotRowStrided(row, x, xOff);
    }

    /**
     * Two loop shapes, chosen by vector width because C2 compiles each well for one width only (JDK 25, 7B
     * Q8_0 decode, 2 threads): with AVX2, block offsets computed from the loop counter let C2 drop the
     * segment's bounds checks from the loop (kernel 19 → 25 GB/s per core, decode 3.30 → 3.53 tok/s); with
     * AVX-512 the same shape ran at 3.08 tok/s against 3.8 for a running offset.
     */
    private float dotRowIndexed(int row, float[] x, int xOff) {
        long rowBase = row * rowBytes;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0, blocks = cols / 32; b < blocks; b++) {
            long base = rowBase + b * 34L;
            int e = b * 32;
            float d = Float.float16ToFloat(data.get(Tensor.I16_LE, base));
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += PB) {
                ByteVector v = ByteVector.fromMemorySegment(BP, data, base + 2 + j, FloatLinears.LE);
                for (int q = 0; q < SUB; q++) {
                    s = ((FloatVector) v.convertShape(VectorOperators.B2F, F, q)).fma(FloatVector.fromArray(F, x, xOff + e + j + q * L), s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private float dotRowStrided(int row, float[] x, int xOff) {
        long base = row * rowBytes;
        FloatVector acc = FloatVector.zero(F);
        for (int e = 0; e < cols; e += 32, base += 34) {
            float d = Float.float16ToFloat(data.get(Tensor.I16_LE, base));
            ByteVector v0 = ByteVector.fromMemorySegment(B16, data, base + 2, FloatLinears.LE);
            ByteVector v1 = ByteVector.fromMemorySegment(B16, data, base + 18, FloatLinears.LE);
            FloatVector s = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                s = ((FloatVector) v0.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xOff + e + p * L), s);
                s = ((FloatVector) v1.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xOff + e + 16 + p * L), s);
            }
            acc = s.fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    boolean hasBlockedKernels() {
        return true;
    }

    @Override
    void block2x4(int r0, int r1, int k0, int kc, float[] x, int x0, int x1, int x2, int x3, float[] acc, int aOff) {
        FloatVector a00 = FloatVector.fromArray(F, acc, aOff), a01 = FloatVector.fromArray(F, acc, aOff + L);
        FloatVector a02 = FloatVector.fromArray(F, acc, aOff + 2 * L), a03 = FloatVector.fromArray(F, acc, aOff + 3 * L);
        FloatVector a10 = FloatVector.fromArray(F, acc, aOff + 4 * L), a11 = FloatVector.fromArray(F, acc, aOff + 5 * L);
        FloatVector a12 = FloatVector.fromArray(F, acc, aOff + 6 * L), a13 = FloatVector.fromArray(F, acc, aOff + 7 * L);
        long b0 = r0 * rowBytes + (long) k0 / 32 * 34;
        long b1 = r1 * rowBytes + (long) k0 / 32 * 34;
        int end = k0 + kc;
        for (int e = k0; e < end; e += 32, b0 += 34, b1 += 34) {
            // the block scale goes onto the widened weights, so the FMAs accumulate straight into a.. (no
            // per-block partial sums to keep live)
            float d0 = Float.float16ToFloat(data.get(Tensor.I16_LE, b0));
            float d1 = Float.float16ToFloat(data.get(Tensor.I16_LE, b1));
            ByteVector lo0 = ByteVector.fromMemorySegment(B16, data, b0 + 2, FloatLinears.LE);
            ByteVector lo1 = ByteVector.fromMemorySegment(B16, data, b1 + 2, FloatLinears.LE);
            for (int p = 0; p < PARTS; p++) {
                int c = e + p * L;
                FloatVector w0 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, p)).mul(d0);
                FloatVector w1 = ((FloatVector) lo1.convertShape(VectorOperators.B2F, F, p)).mul(d1);
                FloatVector xv = FloatVector.fromArray(F, x, x0 + c);
                a00 = w0.fma(xv, a00);
                a10 = w1.fma(xv, a10);
                xv = FloatVector.fromArray(F, x, x1 + c);
                a01 = w0.fma(xv, a01);
                a11 = w1.fma(xv, a11);
                xv = FloatVector.fromArray(F, x, x2 + c);
                a02 = w0.fma(xv, a02);
                a12 = w1.fma(xv, a12);
                xv = FloatVector.fromArray(F, x, x3 + c);
                a03 = w0.fma(xv, a03);
                a13 = w1.fma(xv, a13);
            }
            ByteVector hi0 = ByteVector.fromMemorySegment(B16, data, b0 + 18, FloatLinears.LE);
            ByteVector hi1 = ByteVector.fromMemorySegment(B16, data, b1 + 18, FloatLinears.LE);
            for (int p = 0; p < PARTS; p++) {
                int c = e + 16 + p * L;
                FloatVector w0 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, p)).mul(d0);
                FloatVector w1 = ((FloatVector) hi1.convertShape(VectorOperators.B2F, F, p)).mul(d1);
                FloatVector xv = FloatVector.fromArray(F, x, x0 + c);
                a00 = w0.fma(xv, a00);
                a10 = w1.fma(xv, a10);
                xv = FloatVector.fromArray(F, x, x1 + c);
                a01 = w0.fma(xv, a01);
                a11 = w1.fma(xv, a11);
                xv = FloatVector.fromArray(F, x, x2 + c);
                a02 = w0.fma(xv, a02);
                a12 = w1.fma(xv, a12);
                xv = FloatVector.fromArray(F, x, x3 + c);
                a03 = w0.fma(xv, a03);
                a13 = w1.fma(xv, a13);
            }
        }
        a00.intoArray(acc, aOff);
        a01.intoArray(acc, aOff + L);
        a02.intoArray(acc, aOff + 2 * L);
        a03.intoArray(acc, aOff + 3 * L);
        a10.intoArray(acc, aOff + 4 * L);
        a11.intoArray(acc, aOff + 5 * L);
        a12.intoArray(acc, aOff + 6 * L);
        a13.intoArray(acc, aOff + 7 * L);
    }

    @Override
    void block2x8(int r0, int r1, int k0, int kc, float[] x, int xs, float[] acc, int aOff) {
        FloatVector a00 = FloatVector.fromArray(F, acc, aOff);
        FloatVector a01 = FloatVector.fromArray(F, acc, aOff + L);
        FloatVector a02 = FloatVector.fromArray(F, acc, aOff + 2 * L);
        FloatVector a03 = FloatVector.fromArray(F, acc, aOff + 3 * L);
        FloatVector a04 = FloatVector.fromArray(F, acc, aOff + 4 * L);
        FloatVector a05 = FloatVector.fromArray(F, acc, aOff + 5 * L);
        FloatVector a06 = FloatVector.fromArray(F, acc, aOff + 6 * L);
        FloatVector a07 = FloatVector.fromArray(F, acc, aOff + 7 * L);
        FloatVector a10 = FloatVector.fromArray(F, acc, aOff + 8 * L);
        FloatVector a11 = FloatVector.fromArray(F, acc, aOff + 9 * L);
        FloatVector a12 = FloatVector.fromArray(F, acc, aOff + 10 * L);
        FloatVector a13 = FloatVector.fromArray(F, acc, aOff + 11 * L);
        FloatVector a14 = FloatVector.fromArray(F, acc, aOff + 12 * L);
        FloatVector a15 = FloatVector.fromArray(F, acc, aOff + 13 * L);
        FloatVector a16 = FloatVector.fromArray(F, acc, aOff + 14 * L);
        FloatVector a17 = FloatVector.fromArray(F, acc, aOff + 15 * L);
        long b0 = r0 * rowBytes + (long) k0 / 32 * 34;
        long b1 = r1 * rowBytes + (long) k0 / 32 * 34;
        int end = k0 + kc;
        for (int e = k0; e < end; e += 32, b0 += 34, b1 += 34) {
            // the block scale goes onto the widened weights, so the FMAs accumulate straight into a..
            float d0 = Float.float16ToFloat(data.get(Tensor.I16_LE, b0));
            float d1 = Float.float16ToFloat(data.get(Tensor.I16_LE, b1));
            ByteVector lo0 = ByteVector.fromMemorySegment(B16, data, b0 + 2, FloatLinears.LE);
            ByteVector lo1 = ByteVector.fromMemorySegment(B16, data, b1 + 2, FloatLinears.LE);
            for (int p = 0; p < PARTS; p++) {
                int c = xs + (e + p * L) * 8;
                FloatVector w0 = ((FloatVector) lo0.convertShape(VectorOperators.B2F, F, p)).mul(d0);
                FloatVector w1 = ((FloatVector) lo1.convertShape(VectorOperators.B2F, F, p)).mul(d1);
                FloatVector xv = FloatVector.fromArray(F, x, c);
                a00 = w0.fma(xv, a00);
                a10 = w1.fma(xv, a10);
                xv = FloatVector.fromArray(F, x, c + L);
                a01 = w0.fma(xv, a01);
                a11 = w1.fma(xv, a11);
                xv = FloatVector.fromArray(F, x, c + 2 * L);
                a02 = w0.fma(xv, a02);
                a12 = w1.fma(xv, a12);
                xv = FloatVector.fromArray(F, x, c + 3 * L);
                a03 = w0.fma(xv, a03);
                a13 = w1.fma(xv, a13);
                xv = FloatVector.fromArray(F, x, c + 4 * L);
                a04 = w0.fma(xv, a04);
                a14 = w1.fma(xv, a14);
                xv = FloatVector.fromArray(F, x, c + 5 * L);
                a05 = w0.fma(xv, a05);
                a15 = w1.fma(xv, a15);
                xv = FloatVector.fromArray(F, x, c + 6 * L);
                a06 = w0.fma(xv, a06);
                a16 = w1.fma(xv, a16);
                xv = FloatVector.fromArray(F, x, c + 7 * L);
                a07 = w0.fma(xv, a07);
                a17 = w1.fma(xv, a17);
            }
            ByteVector hi0 = ByteVector.fromMemorySegment(B16, data, b0 + 18, FloatLinears.LE);
            ByteVector hi1 = ByteVector.fromMemorySegment(B16, data, b1 + 18, FloatLinears.LE);
            for (int p = 0; p < PARTS; p++) {
                int c = xs + (e + 16 + p * L) * 8;
                FloatVector w0 = ((FloatVector) hi0.convertShape(VectorOperators.B2F, F, p)).mul(d0);
                FloatVector w1 = ((FloatVector) hi1.convertShape(VectorOperators.B2F, F, p)).mul(d1);
                FloatVector xv = FloatVector.fromArray(F, x, c);
                a00 = w0.fma(xv, a00);
                a10 = w1.fma(xv, a10);
                xv = FloatVector.fromArray(F, x, c + L);
                a01 = w0.fma(xv, a01);
                a11 = w1.fma(xv, a11);
                xv = FloatVector.fromArray(F, x, c + 2 * L);
                a02 = w0.fma(xv, a02);
                a12 = w1.fma(xv, a12);
                xv = FloatVector.fromArray(F, x, c + 3 * L);
                a03 = w0.fma(xv, a03);
                a13 = w1.fma(xv, a13);
                xv = FloatVector.fromArray(F, x, c + 4 * L);
                a04 = w0.fma(xv, a04);
                a14 = w1.fma(xv, a14);
                xv = FloatVector.fromArray(F, x, c + 5 * L);
                a05 = w0.fma(xv, a05);
                a15 = w1.fma(xv, a15);
                xv = FloatVector.fromArray(F, x, c + 6 * L);
                a06 = w0.fma(xv, a06);
                a16 = w1.fma(xv, a16);
                xv = FloatVector.fromArray(F, x, c + 7 * L);
                a07 = w0.fma(xv, a07);
                a17 = w1.fma(xv, a17);
            }
        }
        a00.intoArray(acc, aOff);
        a01.intoArray(acc, aOff + L);
        a02.intoArray(acc, aOff + 2 * L);
        a03.intoArray(acc, aOff + 3 * L);
        a04.intoArray(acc, aOff + 4 * L);
        a05.intoArray(acc, aOff + 5 * L);
        a06.intoArray(acc, aOff + 6 * L);
        a07.intoArray(acc, aOff + 7 * L);
        a10.intoArray(acc, aOff + 8 * L);
        a11.intoArray(acc, aOff + 9 * L);
        a12.intoArray(acc, aOff + 10 * L);
        a13.intoArray(acc, aOff + 11 * L);
        a14.intoArray(acc, aOff + 12 * L);
        a15.intoArray(acc, aOff + 13 * L);
        a16.intoArray(acc, aOff + 14 * L);
        a17.intoArray(acc, aOff + 15 * L);
    }

    @Override
    void widen(int row, int k0, int kc, float[] out, int outOff) {
        long base = row * rowBytes + (long) k0 / 32 * 34;
        for (int e = 0; e < kc; e += 32, base += 34) {
            float d = Float.float16ToFloat(data.get(Tensor.I16_LE, base));
            ByteVector v0 = ByteVector.fromMemorySegment(B16, data, base + 2, FloatLinears.LE);
            ByteVector v1 = ByteVector.fromMemorySegment(B16, data, base + 18, FloatLinears.LE);
            for (int p = 0; p < PARTS; p++) {
                ((FloatVector) v0.convertShape(VectorOperators.B2F, F, p)).mul(d).intoArray(out, outOff + e + p * L);
                ((FloatVector) v1.convertShape(VectorOperators.B2F, F, p)).mul(d).intoArray(out, outOff + e + 16 + p * L);
            }
        }
    }
}
