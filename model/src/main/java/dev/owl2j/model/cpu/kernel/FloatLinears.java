package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Parallel;
import dev.owl2j.model.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteOrder;

/** Kernels over unquantized weights: F32, F16 and BF16. */
final class FloatLinears {
    private FloatLinears() {}

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** L shorts (half the vector width), widened to L ints of the preferred width. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(VectorLinear.L * 16));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorLinear.F.vectorShape());
    /**
     * 2^112: rebiases an F16 exponent (bias 15) placed in an F32 exponent field (bias 127). JDK 25's Vector API has
     * no half-precision lane conversion, so F16 → F32 is done with this bit trick: sign | (exp·mant << 13) read as a
     * float, times 2^112. Exact for normals, subnormals and zeros; F16 inf/NaN become large finite values, which
     * model weights never contain.
     */
    private static final float REBIAS = 0x1p112f;

    /**
     * Bits 28-30 cleared: after the sign-extending S2I and a shift left by 13, bits 28-31 of a lane all hold the F16
     * sign, so clearing three of them leaves sign | exp·mant << 13 in two operations (a shift and an and) where
     * masking sign and magnitude apart took five.
     */
    private static final int SIGN_AND_BODY = 0x8FFF_FFFF;

    static FloatVector f16(java.lang.foreign.MemorySegment seg, long byteOff) {
        IntVector i = (IntVector) ShortVector.fromMemorySegment(S, seg, byteOff, LE).convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 13).and(SIGN_AND_BODY).reinterpretAsFloats().mul(REBIAS);
    }

    static FloatVector bf16(java.lang.foreign.MemorySegment seg, long byteOff) {
        IntVector i = (IntVector) ShortVector.fromMemorySegment(S, seg, byteOff, LE).convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static final class F32 extends VectorLinear {
        F32(Tensor w) {
            super(w);
        }

        @Override
        public void matvec(float[] x, int xOff, float[] y, int yOff) {
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
            long base = (long) row * cols * 4;
            int bound = F.loopBound(cols);
            FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
            int c = 0;
            for (; c + L < bound; c += 2 * L) {
                acc0 = FloatVector.fromMemorySegment(F, data, base + c * 4L, LE).fma(FloatVector.fromArray(F, x, xOff + c), acc0);
                acc1 = FloatVector.fromMemorySegment(F, data, base + (c + L) * 4L, LE).fma(FloatVector.fromArray(F, x, xOff + c + L), acc1);
            }
            for (; c < bound; c += L) {
                acc0 = FloatVector.fromMemorySegment(F, data, base + c * 4L, LE).fma(FloatVector.fromArray(F, x, xOff + c), acc0);
            }
            float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
            for (; c < cols; c++) {
                s += data.get(Tensor.F32_LE, base + c * 4L) * x[xOff + c];
            }
            return s;
        }

        @Override
        void widen(int row, int k0, int kc, float[] out, int outOff) {
            java.lang.foreign.MemorySegment.copy(data, Tensor.F32_LE, ((long) row * cols + k0) * 4, out, outOff, kc);
        }
    }

    /** F16 and BF16: two bytes per weight, widened in registers. */
    static final class Half extends VectorLinear {
        private final boolean brain;

        Half(Tensor w, boolean brain) {
            super(w);
            this.brain = brain;
        }

        @Override
        public void matvec(float[] x, int xOff, float[] y, int yOff) {
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

        private FloatVector load(long byteOff) {
            return brain ? bf16(data, byteOff) : f16(data, byteOff);
        }

        private float scalar(long byteOff) {
            short h = data.get(Tensor.I16_LE, byteOff);
            return brain ? Float.intBitsToFloat((h & 0xffff) << 16) : Float.float16ToFloat(h);
        }

        @Override
        float dotRow(int row, float[] x, int xOff) {
            long base = (long) row * cols * 2;
            int bound = F.loopBound(cols);
            FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
            int c = 0;
            for (; c + L < bound; c += 2 * L) {
                acc0 = load(base + c * 2L).fma(FloatVector.fromArray(F, x, xOff + c), acc0);
                acc1 = load(base + (c + L) * 2L).fma(FloatVector.fromArray(F, x, xOff + c + L), acc1);
            }
            for (; c < bound; c += L) {
                acc0 = load(base + c * 2L).fma(FloatVector.fromArray(F, x, xOff + c), acc0);
            }
            float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
            for (; c < cols; c++) {
                s += scalar(base + c * 2L) * x[xOff + c];
            }
            return s;
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
            long b0 = (long) r0 * cols * 2;
            long b1 = (long) r1 * cols * 2;
            int end = k0 + F.loopBound(kc);
            int c = k0;
            for (; c < end; c += L) {
                FloatVector w0 = load(b0 + c * 2L);
                FloatVector w1 = load(b1 + c * 2L);
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
            a00.intoArray(acc, aOff);
            a01.intoArray(acc, aOff + L);
            a02.intoArray(acc, aOff + 2 * L);
            a03.intoArray(acc, aOff + 3 * L);
            a10.intoArray(acc, aOff + 4 * L);
            a11.intoArray(acc, aOff + 5 * L);
            a12.intoArray(acc, aOff + 6 * L);
            a13.intoArray(acc, aOff + 7 * L);
            // columns past the last whole vector (only in the last K tile) go into lane 0
            for (; c < k0 + kc; c++) {
                float w0 = scalar(b0 + c * 2L);
                float w1 = scalar(b1 + c * 2L);
                acc[aOff] += w0 * x[x0 + c];
                acc[aOff + L] += w0 * x[x1 + c];
                acc[aOff + 2 * L] += w0 * x[x2 + c];
                acc[aOff + 3 * L] += w0 * x[x3 + c];
                acc[aOff + 4 * L] += w1 * x[x0 + c];
                acc[aOff + 5 * L] += w1 * x[x1 + c];
                acc[aOff + 6 * L] += w1 * x[x2 + c];
                acc[aOff + 7 * L] += w1 * x[x3 + c];
            }
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
            long b0 = (long) r0 * cols * 2;
            long b1 = (long) r1 * cols * 2;
            int end = k0 + F.loopBound(kc);
            int c = k0;
            for (; c < end; c += L) {
                FloatVector w0 = load(b0 + c * 2L);
                FloatVector w1 = load(b1 + c * 2L);
                int xc = xs + c * 8;
                FloatVector xv = FloatVector.fromArray(F, x, xc);
                a00 = w0.fma(xv, a00);
                a10 = w1.fma(xv, a10);
                xv = FloatVector.fromArray(F, x, xc + L);
                a01 = w0.fma(xv, a01);
                a11 = w1.fma(xv, a11);
                xv = FloatVector.fromArray(F, x, xc + 2 * L);
                a02 = w0.fma(xv, a02);
                a12 = w1.fma(xv, a12);
                xv = FloatVector.fromArray(F, x, xc + 3 * L);
                a03 = w0.fma(xv, a03);
                a13 = w1.fma(xv, a13);
                xv = FloatVector.fromArray(F, x, xc + 4 * L);
                a04 = w0.fma(xv, a04);
                a14 = w1.fma(xv, a14);
                xv = FloatVector.fromArray(F, x, xc + 5 * L);
                a05 = w0.fma(xv, a05);
                a15 = w1.fma(xv, a15);
                xv = FloatVector.fromArray(F, x, xc + 6 * L);
                a06 = w0.fma(xv, a06);
                a16 = w1.fma(xv, a16);
                xv = FloatVector.fromArray(F, x, xc + 7 * L);
                a07 = w0.fma(xv, a07);
                a17 = w1.fma(xv, a17);
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
            // columns past the last whole vector (only in the last K tile) go into lane 0
            for (; c < k0 + kc; c++) {
                float w0 = scalar(b0 + c * 2L);
                float w1 = scalar(b1 + c * 2L);
                int xc = xs + (c - c % L) * 8 + c % L;
                for (int i = 0; i < 8; i++) {
                    acc[aOff + i * L] += w0 * x[xc + i * L];
                    acc[aOff + (8 + i) * L] += w1 * x[xc + i * L];
                }
            }
        }

        @Override
        void widen(int row, int k0, int kc, float[] out, int outOff) {
            long base = ((long) row * cols + k0) * 2;
            int bound = F.loopBound(kc);
            int c = 0;
            for (; c < bound; c += L) {
                load(base + c * 2L).intoArray(out, outOff + c);
            }
            for (; c < kc; c++) {
                out[outOff + c] = scalar(base + c * 2L);
            }
        }
    }
}
