package dev.owl2j.kernels.compiler.target;

import dev.owl2j.kernels.compiler.Capabilities;
import dev.owl2j.kernels.compiler.ir.ArrayDecl;
import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Module;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Type.Prim;

import java.util.List;
import java.util.Set;

/**
 * CUDA C++ as NVRTC compiles it: no headers (NVRTC may not find the toolkit's), so F16 conversions are one PTX
 * cvt instruction each and integer types are spelled out. Kernels are extern "C" so their names survive.
 */
public final class CudaTarget extends CTarget {
    @Override
    public String id() {
        return "cuda";
    }

    @Override
    public Capabilities capabilities() {
        return Capabilities.ALL;
    }

    @Override
    protected String prelude(Module m, Set<String> features) {
        StringBuilder p = new StringBuilder();
        if (features.contains("half_to_float")) {
            p.append("""
                    static __device__ __forceinline__ float owl_half_to_float(short h) {
                        float f;
                        asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
                        return f;
                    }
                    """);
        }
        if (features.contains("float_to_half")) {
            p.append("""
                    static __device__ __forceinline__ short owl_float_to_half(float f) {
                        short h;
                        asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
                        return h;
                    }
                    """);
        }
        return p.toString();
    }

    @Override
    protected String kernelPrefix() {
        return "extern \"C\" __global__ ";
    }

    @Override
    protected String functionPrefix() {
        return "static __device__ __forceinline__ ";
    }

    @Override
    protected String scalar(Prim p) {
        return switch (p) {
            case VOID -> "void";
            case BOOL, INT -> "int";
            case LONG -> "long long";
            case FLOAT -> "float";
            case DOUBLE -> "double";
            case BYTE -> "signed char";
            case SHORT -> "short";
            case CHAR -> "unsigned short";
        };
    }

    @Override
    protected String pointer(Type.ArrayType t, boolean readOnly) {
        return (readOnly ? "const " : "") + element(t.elem()) + "* ";
    }

    @Override
    protected String arrayDeclaration(ArrayDecl d) {
        return (d.space() == Type.Space.LOCAL ? "__shared__ " : "") + element(d.elem()) + " " + d.name() + "[" + d.length() + "]";
    }

    @Override
    protected String workItem(Expr.Builtin b, int dim) {
        String c = switch (dim) {
            case 0 -> "x";
            case 1 -> "y";
            default -> "z";
        };
        return switch (b) {
            case GLOBAL_ID -> "(int) (blockIdx." + c + " * blockDim." + c + " + threadIdx." + c + ")";
            case LOCAL_ID -> "(int) threadIdx." + c;
            case GROUP_ID -> "(int) blockIdx." + c;
            case GLOBAL_SIZE -> "(int) (gridDim." + c + " * blockDim." + c + ")";
            case LOCAL_SIZE -> "(int) blockDim." + c;
        };
    }

    @Override
    protected String barrier(boolean global) {
        return "__syncthreads()"; // also orders the block's global-memory accesses
    }

    @Override
    protected String convert(Prim from, Prim to, String operand) {
        if (from.isFloating() && (to == Prim.INT || to == Prim.LONG)) {
            // round toward zero with saturation and NaN -> 0, as Java
            String f = from == Prim.FLOAT ? "float" : "double";
            return "__" + f + "2" + (to == Prim.INT ? "int" : "ll") + "_rz(" + operand + ")";
        }
        return null;
    }

    @Override
    protected String unsignedShift(Prim t, String x, String s) {
        return t == Prim.LONG ? "(long long) ((unsigned long long) " + x + " >> " + s + ")"
                : "(int) ((unsigned int) " + x + " >> " + s + ")";
    }

    @Override
    protected String fmod(Prim t, String a, String b) {
        return (t == Prim.FLOAT ? "fmodf(" : "fmod(") + a + ", " + b + ")";
    }

    @Override
    protected String literal(Expr.Const c) {
        return CLiterals.literal(c, "LL", null, "double", c.type() == Prim.DOUBLE ? "__longlong_as_double(0x7ff8000000000000LL)"
                : "__int_as_float(0x7fc00000)", c.type() == Prim.DOUBLE ? "__longlong_as_double(0x7ff0000000000000LL)" : "__int_as_float(0x7f800000)");
    }

    @Override
    protected String intrinsic(Expr.Intrinsic i, Printer p, Features features) {
        Prim t = i.type();
        List<String> a = i.args().stream().map(x -> p.expr(x, 0)).toList();
        String f = t == Prim.FLOAT ? "f" : "";
        return switch (i.op()) {
            case EXP, LOG, LOG10, SQRT, POW, TANH, SIN, COS, TAN, ASIN, ACOS, ATAN, ATAN2, SINH, COSH, FLOOR, CEIL, RINT,
                 EXPM1, LOG1P, CBRT, HYPOT, COPYSIGN, FMA -> i.op().name().toLowerCase() + f + "(" + String.join(", ", a) + ")";
            case ABS -> t.isFloating() ? "fabs" + f + "(" + a.get(0) + ")" : (t == Prim.LONG ? "llabs(" : "abs(") + a.get(0) + ")";
            case MIN -> (t.isFloating() ? "fmin" + f + "(" : "min(") + a.get(0) + ", " + a.get(1) + ")";
            case MAX -> (t.isFloating() ? "fmax" + f + "(" : "max(") + a.get(0) + ", " + a.get(1) + ")";
            case F16_TO_F32 -> {
                features.use("half_to_float");
                yield "owl_half_to_float(" + a.get(0) + ")";
            }
            case F32_TO_F16 -> {
                features.use("float_to_half");
                yield "(int) owl_float_to_half(" + a.get(0) + ")";
            }
            case FLOAT_TO_RAW_INT_BITS -> "__float_as_int(" + a.get(0) + ")";
            case INT_BITS_TO_FLOAT -> "__int_as_float(" + a.get(0) + ")";
            case DOUBLE_TO_RAW_LONG_BITS -> "__double_as_longlong(" + a.get(0) + ")";
            case LONG_BITS_TO_DOUBLE -> "__longlong_as_double(" + a.get(0) + ")";
            case IS_NAN -> "isnan(" + a.get(0) + ")";
            case CLZ -> (i.args().get(0).type() == Prim.LONG ? "__clzll(" : "__clz(") + a.get(0) + ")";
            case POPCOUNT -> (i.args().get(0).type() == Prim.LONG ? "__popcll(" : "__popc(") + a.get(0) + ")";
            case BYTES_GET_SHORT -> "*(const short*) (" + p.expr(i.args().get(0), 12) + " + " + p.expr(i.args().get(1), 13) + ")";
        };
    }

    private static final Set<String> RESERVED = CLiterals.words("""
            alignas alignof and asm auto bool break case catch char char16_t char32_t class const constexpr const_cast
            continue decltype default delete do double dynamic_cast else enum explicit export extern false float for
            friend goto if inline int long mutable namespace new noexcept not nullptr operator or private protected
            public register reinterpret_cast return short signed sizeof static static_assert static_cast struct switch
            template this thread_local throw true try typedef typeid typename union unsigned using virtual void volatile
            wchar_t while xor
            threadIdx blockIdx blockDim gridDim warpSize dim3 uint3 float2 float4 int2 int4 half
            abs llabs min max fminf fmaxf fmin fmax fabsf fabs fmaf fma expf exp logf log log10f log10 sqrtf sqrt powf pow
            tanhf tanh sinf sin cosf cos tanf tan asinf asin acosf acos atanf atan atan2f atan2 sinhf sinh coshf cosh
            floorf floor ceilf ceil rintf rint expm1f expm1 log1pf log1p cbrtf cbrt hypotf hypot copysignf copysign fmodf
            fmod isnan isinf isfinite signbit round roundf trunc truncf exp2 exp2f log2 log2f rsqrt rsqrtf
            printf malloc free memcpy memset assert main
            """);

    @Override
    protected Set<String> reserved() {
        return RESERVED;
    }
}
