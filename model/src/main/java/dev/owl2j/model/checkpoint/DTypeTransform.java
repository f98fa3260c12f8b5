package dev.owl2j.model.checkpoint;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Locale;

/**
 * Converts floating-point weights to F16, BF16 or F32, rounding to nearest even like PyTorch's {@code .to()}.
 * Integer tensors and the float32 buffers ({@code rotary_emb.inv_freq}, abstractor {@code *_pos_embed})
 * are left as they are: the reference keeps those in float32. Converted tensors live in heap arrays, so
 * their memory is bounded by the Java heap and reclaimed after they are written.
 */
public final class DTypeTransform implements TensorTransform {
    private final DType target;

    public DTypeTransform(DType target) {
        if (target != DType.F16 && target != DType.BF16 && target != DType.F32) {
            throw new Owl2jException("unsupported target dtype " + target + " (use f16, bf16 or f32)");
        }
        this.target = target;
    }

    /** Parses "f16", "bf16", "f32" (also "float16", "bfloat16", "float32"). */
    public static DTypeTransform parse(String s) {
        return new DTypeTransform(switch (s.toLowerCase(Locale.ROOT)) {
            case "f16", "fp16", "float16", "half" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f32", "fp32", "float32", "float" -> DType.F32;
            default -> throw new Owl2jException("unknown --dtype " + s + " (use f16, bf16 or f32)");
        });
    }

    public DType target() {
        return target;
    }

    /** True for tensors kept in float32 whatever the target (positional/rotary buffers). */
    public static boolean isBuffer(String name) {
        return ExpectedTensors.isBuffer(name);
    }

    @Override
    public Tensor apply(Tensor t) {
        DType from = t.dtype();
        if (from == target || isBuffer(t.name()) || !(from == DType.F16 || from == DType.BF16 || from == DType.F32)) {
            return t;
        }
        long n = t.numel();
        MemorySegment out = MemorySegment.ofArray(new byte[Math.toIntExact(target.bytesFor(n))]);
        MemorySegment in = t.data();
        for (long i = 0; i < n; i++) {
            float v = switch (from) {
                case F32 -> in.get(Tensor.F32_LE, i * 4);
                case F16 -> Float.float16ToFloat(in.get(Tensor.I16_LE, i * 2));
                default -> Float.intBitsToFloat((in.get(Tensor.I16_LE, i * 2) & 0xffff) << 16);
            };
            switch (target) {
                case F32 -> out.set(Tensor.F32_LE, i * 4, v);
                case F16 -> out.set(Tensor.I16_LE, i * 2, Float.floatToFloat16(v));
                default -> out.set(Tensor.I16_LE, i * 2, toBFloat16(v));
            }
        }
        return new Tensor(t.name(), target, t.shape(), out);
    }

    /** float -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
    public static short toBFloat16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }
}
