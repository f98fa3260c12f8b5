package dev.owl2j.kernels.compiler.target;

import dev.owl2j.kernels.compiler.Capabilities;
import dev.owl2j.kernels.compiler.ir.ArrayDecl;
import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Expr.Intrinsic.Op;
import dev.owl2j.kernels.compiler.ir.Module;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Type.Prim;

import java.util.List;
import java.util.Set;

/**
 * OpenCL C 1.2. F16 is read with vload_half and written with vstore_half_rte, which need no cl_khr_fp16 (PoCL
 * and many drivers lack it); {@code half} values never appear. Java's double is spelled {@code owl_double}:
 * double where the device has cl_khr_fp64, float otherwise (or when built with -DOWL_NO_FP64), so a kernel
 * that accumulates in double still runs, less precisely, on a device without fp64.
 */
public final class OpenClTarget extends CTarget {
    @Override
    public String id() {
        return "opencl";
    }

    @Override
    public Capabilities capabilities() {
        return Capabilities.ALL;
    }

    @Override
    protected String prelude(Module m, Set<String> features) {
        StringBuilder p = new StringBuilder();
        if (m.usesDoubles()) {
            p.append("""
                    #if defined(cl_khr_fp64) && !defined(OWL_NO_FP64) /* OWL_NO_FP64: test the fallback on a device that has fp64 */
                    #pragma OPENCL EXTENSION cl_khr_fp64 : enable
                    #define OWL_FP64 1
                    typedef double owl_double;
                    #define OWL_D(x) x
                    #else
                    typedef float owl_double; /* doubles demoted to float (docs/kernels.md) */
                    #define OWL_D(x) x##f
                    #endif
                    """);
        }
        if (features.contains("half_to_float")) {
            p.append("inline float owl_half_to_float(short h) { return vload_half(0, (const __private half*) &h); }\n");
        }
        if (features.contains("float_to_half")) {
            p.append("inline short owl_float_to_half(float f) { short h; vstore_half_rte(f, 0, (__private half*) &h); return h; }\n");
        }
        if (features.contains("double_bits")) {
            p.append("""
                    #if defined(OWL_FP64)
                    #define owl_long_bits_to_double(b) as_double(b)
                    #define owl_double_to_raw_long_bits(d) as_long(d)
                    #else
                    /* the double with these bits rounded toward zero to float */
                    inline float owl_long_bits_to_double(long b) {
                        uint hi = (uint) (b >> 32), lo = (uint) b;
                        uint sign = hi & 0x80000000u;
                        int e = (int) ((hi >> 20) & 0x7ff);
                        if (e == 0) return as_float(sign);
                        if (e == 0x7ff) return as_float(sign | 0x7f800000u | (hi & 0xfffffu));
                        e = e - 1023 + 127;
                        if (e <= 0) return as_float(sign);
                        if (e >= 255) return as_float(sign | 0x7f800000u);
                        return as_float(sign | ((uint) e << 23) | ((hi & 0xfffffu) << 3) | (lo >> 29));
                    }
                    /* the bits of the double equal to this float */
                    inline long owl_double_to_raw_long_bits(float f) {
                        uint b = as_uint(f);
                        ulong sign = (ulong) (b & 0x80000000u) << 32;
                        int e = (int) ((b >> 23) & 0xff);
                        ulong m = b & 0x7fffffu;
                        if (e == 0xff) return (long) (sign | 0x7ff0000000000000UL | (m << 29));
                        if (e == 0) {
                            if (m == 0) return (long) sign;
                            int top = 31 - (int) clz((uint) m); /* subnormal float: normal as a double */
                            return (long) (sign | ((ulong) (top - 149 + 1023) << 52) | ((m << (52 - top)) & 0xfffffffffffffUL));
                        }
                        return (long) (sign | ((ulong) (e - 127 + 1023) << 52) | (m << 29));
                    }
                    #endif
                    """);
        }
        return p.toString();
    }

    @Override
    protected String indexWidening() {
        return "long";
    }

    @Override
    protected String kernelPrefix() {
        return "__kernel ";
    }

    @Override
    protected String functionPrefix() {
        return "inline ";
    }

    @Override
    protected String scalar(Prim p) {
        return switch (p) {
            case VOID -> "void";
            case BOOL, INT -> "int";
            case LONG -> "long";
            case FLOAT -> "float";
            case DOUBLE -> "owl_double";
            case BYTE -> "char";
            case SHORT -> "short";
            case CHAR -> "ushort";
        };
    }

    @Override
    protected String pointer(Type.ArrayType t, boolean readOnly) {
        String space = switch (t.space()) {
            case GLOBAL -> "__global ";
            case LOCAL -> "__local ";
            case PRIVATE -> "";
        };
        return space + (readOnly ? "const " : "") + element(t.elem()) + "* ";
    }

    @Override
    protected String arrayDeclaration(ArrayDecl d) {
        return (d.space() == Type.Space.LOCAL ? "__local " : "") + element(d.elem()) + " " + d.name() + "[" + d.length() + "]";
    }

    @Override
    protected String workItem(Expr.Builtin b, int dim) {
        return switch (b) {
            case GLOBAL_ID -> "(int) get_global_id(" + dim + ")";
            case LOCAL_ID -> "(int) get_local_id(" + dim + ")";
            case GROUP_ID -> "(int) get_group_id(" + dim + ")";
            case GLOBAL_SIZE -> "(int) get_global_size(" + dim + ")";
            case LOCAL_SIZE -> "(int) get_local_size(" + dim + ")";
        };
    }

    @Override
    protected String barrier(boolean global) {
        return global ? "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)" : "barrier(CLK_LOCAL_MEM_FENCE)";
    }

    @Override
    protected String convert(Prim from, Prim to, String operand) {
        if (from.isFloating() && (to == Prim.INT || to == Prim.LONG)) {
            return "convert_" + (to == Prim.INT ? "int" : "long") + "_sat(" + operand + ")"; // Java: saturate, NaN -> 0
        }
        return null;
    }

    @Override
    protected String unsignedShift(Prim t, String x, String s) {
        return t == Prim.LONG ? "(long) ((ulong) " + x + " >> " + s + ")" : "(int) ((uint) " + x + " >> " + s + ")";
    }

    @Override
    protected String fmod(Prim t, String a, String b) {
        return "fmod(" + a + ", " + b + ")";
    }

    @Override
    protected String literal(Expr.Const c) {
        return CLiterals.literal(c, "L", "OWL_D", "owl_double", "NAN", "INFINITY");
    }

    @Override
    protected String intrinsic(Expr.Intrinsic i, Printer p, Features features) {
        Prim t = i.type();
        List<String> a = i.args().stream().map(x -> p.expr(x, 0)).toList();
        return switch (i.op()) {
            case EXP, LOG, LOG10, SQRT, POW, TANH, SIN, COS, TAN, ASIN, ACOS, ATAN, ATAN2, SINH, COSH, FLOOR, CEIL, RINT,
                 EXPM1, LOG1P, CBRT, HYPOT, COPYSIGN, FMA -> i.op().name().toLowerCase() + "(" + String.join(", ", a) + ")";
            case ABS -> t.isFloating() ? "fabs(" + a.get(0) + ")" : "(" + scalar(t) + ") abs(" + a.get(0) + ")";
            case MIN -> (t.isFloating() ? "fmin(" : "min(") + a.get(0) + ", " + a.get(1) + ")";
            case MAX -> (t.isFloating() ? "fmax(" : "max(") + a.get(0) + ", " + a.get(1) + ")";
            case F16_TO_F32 -> halfLoad(i.args().get(0), p, features);
            case F32_TO_F16 -> {
                features.use("float_to_half");
                yield "(int) owl_float_to_half(" + a.get(0) + ")";
            }
            case FLOAT_TO_RAW_INT_BITS -> "as_int(" + a.get(0) + ")";
            case INT_BITS_TO_FLOAT -> "as_float(" + a.get(0) + ")";
            case DOUBLE_TO_RAW_LONG_BITS -> {
                features.use("double_bits");
                yield "owl_double_to_raw_long_bits(" + a.get(0) + ")";
            }
            case LONG_BITS_TO_DOUBLE -> {
                features.use("double_bits");
                yield "owl_long_bits_to_double(" + a.get(0) + ")";
            }
            case IS_NAN -> "isnan(" + a.get(0) + ")";
            case CLZ -> "(int) clz(" + a.get(0) + ")";
            case POPCOUNT -> "(int) popcount(" + a.get(0) + ")";
            case BYTES_GET_SHORT -> "*(const __global short*) (" + p.expr(i.args().get(0), 12) + " + " + p.index(i.args().get(1)) + ")";
        };
    }

    /** F16 bits to float: straight from memory with vload_half when they come from an array, else via a private copy. */
    private String halfLoad(Expr arg, Printer p, Features features) {
        if (arg instanceof Expr.Load l && l.array().type() instanceof Type.ArrayType at && at.elem() == Prim.SHORT) {
            return "vload_half(" + p.index(l.index()) + ", (const " + space(at) + "half*) " + p.expr(l.array(), 14) + ")";
        }
        if (arg instanceof Expr.Intrinsic g && g.op() == Op.BYTES_GET_SHORT) {
            return "vload_half(0, (const __global half*) (" + p.expr(g.args().get(0), 12) + " + " + p.index(g.args().get(1)) + "))";
        }
        features.use("half_to_float");
        return "owl_half_to_float(" + p.expr(arg, 0) + ")";
    }

    private static String space(Type.ArrayType at) {
        return switch (at.space()) {
            case GLOBAL -> "__global ";
            case LOCAL -> "__local ";
            case PRIVATE -> "__private ";
        };
    }

    private static final Set<String> RESERVED = CLiterals.words("""
            auto break case char const continue default do double else enum extern float for goto if inline int long
            register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
            bool uchar ushort uint ulong half size_t ptrdiff_t intptr_t uintptr_t event_t sampler_t image2d_t image3d_t
            kernel __kernel global __global local __local constant __constant private __private read_only write_only
            read_write true false
            char2 char3 char4 char8 char16 uchar2 uchar4 short2 short4 ushort2 ushort4 int2 int3 int4 int8 int16 uint2 uint4
            long2 long4 ulong2 float2 float3 float4 float8 float16 double2 double4 half2 half4
            get_global_id get_local_id get_group_id get_global_size get_local_size get_num_groups get_work_dim
            get_global_offset barrier mem_fence read_mem_fence write_mem_fence vload_half vstore_half vstore_half_rte
            vload2 vload4 vstore2 vstore4 async_work_group_copy wait_group_events prefetch printf
            as_int as_uint as_float as_long as_ulong as_double as_char as_uchar as_short as_ushort
            convert_int convert_float convert_int_sat convert_long_sat convert_long convert_double
            acos acosh acospi asin asinh asinpi atan atan2 atanh atanpi atan2pi cbrt ceil copysign cos cosh cospi erfc erf
            exp exp2 exp10 expm1 fabs fdim floor fma fmax fmin fmod fract frexp hypot ilogb ldexp lgamma log log2 log10
            log1p logb mad maxmag minmag modf nan nextafter pow pown powr remainder remquo rint rootn round rsqrt sin
            sincos sinh sinpi sqrt tan tanh tanpi tgamma trunc abs abs_diff add_sat hadd rhadd clamp clz mad_hi mad_sat
            max min mul_hi rotate sub_sat upsample popcount mad24 mul24 degrees radians mix step smoothstep sign cross
            dot distance length normalize isequal isnotequal isgreater isless isfinite isinf isnan isnormal signbit any
            all bitselect select shuffle shuffle2 atomic_add atomic_sub atomic_xchg atomic_inc atomic_dec atomic_cmpxchg
            atomic_min atomic_max atomic_and atomic_or atomic_xor NAN INFINITY MAXFLOAT HUGE_VALF main
            """);

    @Override
    protected Set<String> reserved() {
        return RESERVED;
    }
}
