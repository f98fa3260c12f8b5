package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import static dev.owl2j.model.cpu.kernel.QuantLinears.B16;
import static dev.owl2j.model.cpu.kernel.QuantLinears.BP;
import static dev.owl2j.model.cpu.kernel.QuantLinears.PARTS;
import static dev.owl2j.model.cpu.kernel.QuantLinears.PB;
import static dev.owl2j.model.cpu.kernel.QuantLinears.SUB;

/**
 * Q4_0 weights (an F16 scale d, then 32 4-bit weights stored as 16 bytes, low nibbles first) multiplied row by row as
 * stored, with floats (0.56 bytes per weight read in decode). Q4_0 goes through {@link Q4Tiles} (integer dot, repacked
 * rows) unless {@code owl2j.noQ4Tiles} is set; this is the fallback and the reference it was measured against.
 */
final class Q4Linear extends VectorLinear {
    private final long rowBytes;

    Q4Linear(Tensor w) {
        super(w);
        if (w.dtype() != DType.Q4_0) {
            throw new IllegalArgumentException(w.name() + " is " + w.dtype() + ", not Q4_0");
        }
        rowBytes = (long) cols / 32 * 18;
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
        long base = row * rowBytes;
        FloatVector acc = FloatVector.zero(F);
        for (int e = 0; e < cols; e += 32, base += 18) {
            float d = Float.float16ToFloat(data.get(Tensor.I16_LE, base));
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 16; j += PB) {
                ByteVector v = ByteVector.fromMemorySegment(BP, data, base + 2 + j, FloatLinears.LE);
                for (int p = 0; p < SUB; p++) {
                    // nibbles split after widening to 32-bit lanes (no byte-lane shift emulation, no byte sub)
                    IntVector q = (IntVector) v.convertShape(VectorOperators.ZERO_EXTEND_B2I, FloatLinears.I, p);
                    FloatVector lo = ((FloatVector) q.and(0x0f).convert(VectorOperators.I2F, 0)).sub(8f);
                    FloatVector hi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).sub(8f);
                    s = lo.fma(FloatVector.fromArray(F, x, xOff + e + j + p * L), s);
                    s = hi.fma(FloatVector.fromArray(F, x, xOff + e + 16 + j + p * L), s);
                }
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
        long b0 = r0 * rowBytes + (long) k0 / 32 * 18;
        long b1 = r1 * rowBytes + (long) k0 / 32 * 18;
        int end = k0 + kc;
        for (int e = k0; e < end; e += 32, b0 += 18, b1 += 18) {
            // the block scale goes onto the widened weights, so the FMAs accumulate straight into a.. (no
            // per-block partial sums to keep live)
            float s0 = Float.float16ToFloat(data.get(Tensor.I16_LE, b0));
            float s1 = Float.float16ToFloat(data.get(Tensor.I16_LE, b1));
            FloatVector d0 = FloatVector.broadcast(F, s0), d1 = FloatVector.broadcast(F, s1);
            ByteVector v0 = ByteVector.fromMemorySegment(B16, data, b0 + 2, FloatLinears.LE);
            ByteVector v1 = ByteVector.fromMemorySegment(B16, data, b1 + 2, FloatLinears.LE);
            for (int p = 0; p < PARTS; p++) {
                int c = e + p * L;
                IntVector q0 = (IntVector) v0.convertShape(VectorOperators.ZERO_EXTEND_B2I, FloatLinears.I, p);
                IntVector q1 = (IntVector) v1.convertShape(VectorOperators.ZERO_EXTEND_B2I, FloatLinears.I, p);
                // (q − 8)·d with the −8 in the int lanes (see block2x8)
                FloatVector w0 = ((FloatVector) q0.and(0x0f).sub(8).convert(VectorOperators.I2F, 0)).mul(d0);
                FloatVector w1 = ((FloatVector) q1.and(0x0f).sub(8).convert(VectorOperators.I2F, 0)).mul(d1);
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
                c += 16;
                w0 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d0);
                w1 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d1);
                xv = FloatVector.fromArray(F, x, x0 + c);
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
        long b0 = r0 * rowBytes + (long) k0 / 32 * 18;
        long b1 = r1 * rowBytes + (long) k0 / 32 * 18;
        int end = k0 + kc;
        for (int e = k0; e < end; e += 32, b0 += 18, b1 += 18) {
            // the block scale goes onto the widened weights, so the FMAs accumulate straight into a..
            float s0 = Float.float16ToFloat(data.get(Tensor.I16_LE, b0));
            float s1 = Float.float16ToFloat(data.get(Tensor.I16_LE, b1));
            FloatVector d0 = FloatVector.broadcast(F, s0), d1 = FloatVector.broadcast(F, s1);
            ByteVector v0 = ByteVector.fromMemorySegment(B16, data, b0 + 2, FloatLinears.LE);
            ByteVector v1 = ByteVector.fromMemorySegment(B16, data, b1 + 2, FloatLinears.LE);
            for (int p = 0; p < PARTS; p++) {
                int c = xs + (e + p * L) * 8;
                IntVector q0 = (IntVector) v0.convertShape(VectorOperators.ZERO_EXTEND_B2I, FloatLinears.I, p);
                IntVector q1 = (IntVector) v1.convertShape(VectorOperators.ZERO_EXTEND_B2I, FloatLinears.I, p);
                // (q − 8)·d with the −8 in the int lanes: the multiply keeps d in its register, where an FMA
                // with −8d overwrote a broadcast each time; low nibbles are columns 0-15
                FloatVector w0 = ((FloatVector) q0.and(0x0f).sub(8).convert(VectorOperators.I2F, 0)).mul(d0);
                FloatVector w1 = ((FloatVector) q1.and(0x0f).sub(8).convert(VectorOperators.I2F, 0)).mul(d1);
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
                c += 16 * 8;
                w0 = ((FloatVector) q0.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d0);
                w1 = ((FloatVector) q1.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d1);
                xv = FloatVector.fromArray(F, x, c);
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
        long base = row * rowBytes + (long) k0 / 32 * 18;
        for (int e = 0; e < kc; e += 32, base += 18) {
            float s = Float.float16ToFloat(data.get(Tensor.I16_LE, base));
            FloatVector d = FloatVector.broadcast(F, s);
            ByteVector v = ByteVector.fromMemorySegment(B16, data, base + 2, FloatLinears.LE);
            for (int p = 0; p < PARTS; p++) {
                // the int-lane unpack of block2x4
                IntVector q = (IntVector) v.convertShape(VectorOperators.ZERO_EXTEND_B2I, FloatLinears.I, p);
                ((FloatVector) q.and(0x0f).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, outOff + e + p * L);
                ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d)
                        .intoArray(out, outOff + e + 16 + p * L);
            }
        }
    }
}
