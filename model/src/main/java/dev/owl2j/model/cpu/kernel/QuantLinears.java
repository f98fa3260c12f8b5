package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.tensor.DType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the row-major kernels over llama.cpp's Q8_0 / Q4_0 blocks ({@link Q8Linear}, {@link Q4Linear}; F16 scale d,
 * then 32 quantized weights, see DType) share: the byte-load shapes.
 *
 * Why these kernels use a float dot: each group of bytes is widened to floats in registers (B2F), multiplied with
 * x by FMA into a per-block sum s, and the block contributes d·s, reading every weight once. The Vector API has no
 * int8 dot-product instruction (VNNI / SDOT). For Q4_0, 16-bit integer multiplies still beat the float widening
 * (4-bit products are small enough to sum in 16-bit lanes), which is what {@link Q4Tiles} does by default; for Q8_0,
 * 16-bit sums of int8 products overflow after two products, so an integer path would need 32-bit lanes and the
 * float dot stays.
 */
final class QuantLinears {
    private QuantLinears() {}

    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Float vectors per 16 bytes (1 with AVX-512, 2 with AVX2). */
    static final int PARTS = 16 / VectorLinear.L;
    /**
     * Byte loads as wide as one float vector's lanes (8 bytes with AVX2, 16 with AVX-512; at least 8), used by the
     * decode dot products: each load widens straight into float vectors. Taking the upper half of a 16-byte load
     * instead made C2 emit a shuffle and a blend per vector with AVX2 (Q4_0 row dot 8.7 → 10.2 GB/s per core).
     * The batched and prefill kernels keep 16-byte loads: there the same change was slower (Q8_0 by 30 %).
     */
    static final VectorSpecies<Byte> BP =
            VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(Math.max(64, VectorLinear.L * 8)));
    /** Bytes per {@link #BP} load. */
    static final int PB = BP.length();
    /** Float vectors per {@link #BP} load: 1, or 2 where float vectors have 4 lanes. */
    static final int SUB = PB / VectorLinear.L;

    static {
        if (16 % VectorLinear.L != 0) {
            throw new ExceptionInInitializerError("unsupported float vector length " + VectorLinear.L);
        }
    }
}
