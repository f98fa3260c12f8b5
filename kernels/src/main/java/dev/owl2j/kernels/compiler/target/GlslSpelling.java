package dev.owl2j.kernels.compiler.target;

import dev.owl2j.kernels.compiler.Capabilities;
import dev.owl2j.kernels.compiler.KernelCompileException;
import dev.owl2j.kernels.compiler.ir.ArrayDecl;
import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.IrWalk;
import dev.owl2j.kernels.compiler.ir.Module;
import dev.owl2j.kernels.compiler.ir.Stmt;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Type.Prim;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How the GLSL target spells things: the text every shader starts with (extensions, the work-group size from
 * specialization constants, owl_double, Java's integer and conversion semantics, sub-word memory through 32-bit
 * words, double-precision exp/log), scalar types, work-item ids, conversions, literals and reserved words.
 */
final class GlslSpelling {
    private GlslSpelling() {}

    static String prelude(boolean longs) {
        StringBuilder p = new StringBuilder();
        p.append("""
                // OWL_STORAGE16 / OWL_FP64 come from the device's features; OWL_NO_* turn a path off to test the other.
                #if defined(OWL_STORAGE16) && defined(OWL_NO_STORAGE16)
                #undef OWL_STORAGE16
                #endif
                #if defined(OWL_FP64) && defined(OWL_NO_FP64)
                #undef OWL_FP64
                #endif
                #ifdef OWL_STORAGE16
                #extension GL_EXT_shader_16bit_storage : require
                #endif
                """);
        if (longs) p.append("#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require\n");
        p.append("""
                layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;
                #ifdef OWL_FP64
                #define owl_double double
                #define OWL_D(d, f) d
                #define owl_dexp(x) owl_exp(x)
                #define owl_dlog(x) owl_log(x)
                #else
                #define owl_double float
                #define OWL_D(d, f) f
                #define owl_dexp(x) exp(x)
                #define owl_dlog(x) log(x)
                #endif
                // Java's conversions of floating values to int: saturating, NaN to 0 (GLSL leaves these undefined).
                int owl_f2i(float x) { return isnan(x) ? 0 : x >= 2147483648.0 ? 2147483647 : x <= -2147483648.0 ? (-2147483647 - 1) : int(x); }
                // Java's remainder takes the sign of the dividend.
                int owl_irem(int a, int b) { return a - b * (a / b); }
                float owl_frem(float a, float b) { return a - b * trunc(a / b); }
                int owl_clz(int x) { return 31 - findMSB(uint(x)); }
                float owl_copysign(float a, float b) { return intBitsToFloat((floatBitsToInt(a) & 0x7fffffff) | (floatBitsToInt(b) & (-2147483647 - 1))); }
                #ifdef OWL_FP64
                """ + doubleMath() + """
                int owl_f2i(double x) { return isnan(x) ? 0 : x >= 2147483648.0lf ? 2147483647 : x <= -2147483648.0lf ? (-2147483647 - 1) : int(x); }
                double owl_frem(double a, double b) { return a - b * trunc(a / b); }
                #endif
                // Bytes and shorts in buffers of 32-bit words, little-endian (sign-extended like Java's byte/short).
                #define OWL_LD8(b, i) bitfieldExtract(int(b[(i) >> 2]), ((i) & 3) * 8, 8)
                #define OWL_LD8U(b, i) int(bitfieldExtract(b[(i) >> 2], ((i) & 3) * 8, 8))
                #define OWL_ST8(b, i, v) { uint owl_s = uint(((i) & 3) * 8); atomicAnd(b[(i) >> 2], ~(0xffu << owl_s)); atomicOr(b[(i) >> 2], (uint(v) & 0xffu) << owl_s); }
                #define OWL_GETSHORT(b, i) (OWL_LD8U(b, i) | (OWL_LD8(b, (i) + 1) << 8))
                #ifdef OWL_STORAGE16
                #define OWL_LD16(b, i) int(b[i])
                #define OWL_ST16(b, i, v) b[i] = int16_t(v)
                #define OWL_ST16U(b, i, v) b[i] = uint16_t(v)
                #else
                #define OWL_LD16(b, i) bitfieldExtract(int(b[(i) >> 1]), ((i) & 1) * 16, 16)
                #define OWL_LD16U(b, i) int(bitfieldExtract(b[(i) >> 1], ((i) & 1) * 16, 16))
                #define OWL_ST16(b, i, v) { uint owl_s = uint(((i) & 1) * 16); atomicAnd(b[(i) >> 1], ~(0xffffu << owl_s)); atomicOr(b[(i) >> 1], (uint(v) & 0xffffu) << owl_s); }
                #define OWL_ST16U(b, i, v) OWL_ST16(b, i, v)
                #endif
                """);
        if (longs) {
            p.append("""
                    int64_t owl_lrem(int64_t a, int64_t b) { return a - b * (a / b); }
                    int owl_clz(int64_t x) { uint hi = uint(x >> 32), lo = uint(x); return hi != 0u ? 31 - findMSB(hi) : 63 - findMSB(lo); }
                    int64_t owl_f2l(float x) { return isnan(x) ? 0l : x >= 9223372036854775807.0 ? 9223372036854775807l : x <= -9223372036854775808.0 ? (-9223372036854775807l - 1l) : int64_t(x); }
                    #ifdef OWL_FP64
                    int64_t owl_double_to_raw_long_bits(double d) { uvec2 u = unpackDouble2x32(d); return (int64_t(u.y) << 32) | int64_t(u.x); }
                    double owl_long_bits_to_double(int64_t b) { return packDouble2x32(uvec2(uint(b), uint(b >> 32))); }
                    #else
                    // doubles are floats here: the float nearest below the double with these bits, and the bits of the double equal to a float
                    float owl_long_bits_to_double(int64_t b) {
                        uint hi = uint(b >> 32), lo = uint(b);
                        uint sign = hi & 0x80000000u;
                        int e = int((hi >> 20) & 0x7ffu);
                        if (e == 0) return uintBitsToFloat(sign);
                        if (e == 0x7ff) return uintBitsToFloat(sign | 0x7f800000u | (hi & 0xfffffu));
                        e = e - 1023 + 127;
                        if (e <= 0) return uintBitsToFloat(sign);
                        if (e >= 255) return uintBitsToFloat(sign | 0x7f800000u);
                        return uintBitsToFloat(sign | (uint(e) << 23) | ((hi & 0xfffffu) << 3) | (lo >> 29));
                    }
                    int64_t owl_double_to_raw_long_bits(float f) {
                        uint b = floatBitsToUint(f);
                        uint64_t sign = uint64_t(b & 0x80000000u) << 32;
                        int e = int((b >> 23) & 0xffu);
                        uint64_t m = uint64_t(b & 0x7fffffu);
                        if (e == 0xff) return int64_t(sign | 0x7ff0000000000000ul | (m << 29));
                        if (e == 0) {
                            if (m == 0ul) return int64_t(sign);
                            int top = findMSB(uint(m));
                            return int64_t(sign | (uint64_t(top - 149 + 1023) << 52) | ((m << (52 - top)) & 0xffffffffffffful));
                        }
                        return int64_t(sign | (uint64_t(e - 127 + 1023) << 52) | (m << 29));
                    }
                    #endif
                    #ifdef OWL_FP64
                    int64_t owl_f2l(double x) { return isnan(x) ? 0l : x >= 9223372036854775807.0lf ? 9223372036854775807l : x <= -9223372036854775808.0lf ? (-9223372036854775807l - 1l) : int64_t(x); }
                    #endif
                    """);
        }
        return p.toString();
    }

    /**
     * exp and log in double precision: GLSL offers them only for float. Cody-Waite reduction by ln 2 and a
     * degree-13 Taylor polynomial (exp), frexp and the atanh series to s^23 (log): a few ulps, so a kernel that
     * accumulates in double (the sampling kernel) matches the host's Math.exp to ~1e-16 relative.
     */
    private static String doubleMath() {
        StringBuilder exp = new StringBuilder();
        double fact = 1;
        List<String> coeffs = new ArrayList<>();
        for (int n = 0; n <= 13; n++) {
            if (n > 0) fact *= n;
            coeffs.add(Double.toString(1 / fact) + "lf");
        }
        String poly = coeffs.get(13);
        for (int n = 12; n >= 0; n--) poly = "(" + poly + " * r + " + coeffs.get(n) + ")";
        exp.append("double owl_exp(double x) {\n")
                .append("    if (isnan(x) || x > 709.782712893384lf) return x > 0.0lf ? double(uintBitsToFloat(0x7f800000u)) : x;\n")
                .append("    if (x < -745.1332191019412lf) return 0.0lf;\n")
                .append("    double k = floor(x * 1.4426950408889634lf + 0.5lf);\n")
                .append("    double r = (x - k * 0.6931471803691238lf) - k * 1.9082149292705877E-10lf;\n")
                .append("    double p = ").append(poly).append(";\n")
                .append("    int ki = int(k), k1 = ki / 2;\n")
                .append("    return ldexp(ldexp(p, k1), ki - k1); // two steps keep subnormal results exact\n")
                .append("}\n");
        String series = "(1.0lf / 23.0lf)";
        for (int k = 21; k >= 1; k -= 2) series = "(" + series + " * s2 + 1.0lf / " + k + ".0lf)";
        exp.append("double owl_log(double x) {\n")
                .append("    if (isnan(x) || x < 0.0lf) return double(uintBitsToFloat(0x7fc00000u));\n")
                .append("    if (x == 0.0lf) return double(uintBitsToFloat(0xff800000u));\n")
                .append("    if (isinf(x)) return x;\n")
                .append("    int e;\n")
                .append("    double m = frexp(x, e);\n")
                .append("    if (m < 0.7071067811865476lf) { m *= 2.0lf; e -= 1; }\n")
                .append("    double f = m - 1.0lf, s = f / (2.0lf + f), s2 = s * s;\n")
                .append("    return double(e) * 0.6931471803691238lf + (2.0lf * s * ").append(series)
                .append(" + double(e) * 1.9082149292705877E-10lf);\n")
                .append("}\n");
        return exp.toString();
    }

    static String scalar(Prim p) {
        return switch (p) {
            case VOID -> "void";
            case BOOL, INT, BYTE, SHORT, CHAR -> "int";
            case LONG -> "int64_t";
            case FLOAT -> "float";
            case DOUBLE -> "owl_double";
        };
    }

    /** Element type of a shared or private array (small types widened to int) or of a 32/64-bit buffer. */
    static String element(Prim elem) {
        return scalar(elem);
    }

    static String workItem(Expr.Builtin b, int dim) {
        String c = "xyz".substring(dim, dim + 1);
        return switch (b) {
            case GLOBAL_ID -> "int(gl_GlobalInvocationID." + c + ")";
            case LOCAL_ID -> "int(gl_LocalInvocationID." + c + ")";
            case GROUP_ID -> "int(gl_WorkGroupID." + c + ")";
            case LOCAL_SIZE -> "int(gl_WorkGroupSize." + c + ")";
            case GLOBAL_SIZE -> "int(gl_NumWorkGroups." + c + " * gl_WorkGroupSize." + c + ")";
        };
    }

    static String convert(Prim from, Prim to, String x) {
        return switch (to) {
            case BYTE -> "bitfieldExtract(" + (from == Prim.INT || from == Prim.BOOL ? x : "int(" + x + ")") + ", 0, 8)";
            case SHORT -> "bitfieldExtract(" + (from == Prim.INT || from == Prim.BOOL ? x : "int(" + x + ")") + ", 0, 16)";
            case CHAR -> "(" + (from == Prim.INT || from == Prim.BOOL ? x : "int(" + x + ")") + " & 0xffff)";
            case INT -> from.isFloating() ? "owl_f2i(" + x + ")" : "int(" + x + ")";
            case LONG -> from.isFloating() ? "owl_f2l(" + x + ")" : "int64_t(" + x + ")";
            case FLOAT -> "float(" + x + ")";
            case DOUBLE -> "owl_double(" + x + ")";
            case BOOL -> "int(" + x + " != 0)";
            case VOID -> throw new IllegalStateException("conversion to void");
        };
    }

    static String literal(Expr.Const c) {
        return switch (c.value()) {
            case Integer i -> i == Integer.MIN_VALUE ? "(-2147483647 - 1)" : i < 0 ? "(" + i + ")" : Integer.toString(i);
            case Long l -> l == Long.MIN_VALUE ? "(-9223372036854775807l - 1l)" : l < 0 ? "(" + l + "l)" : l + "l";
            case Float f -> {
                if (f.isNaN()) yield "uintBitsToFloat(0x7fc00000u)";
                if (f.isInfinite()) yield f > 0 ? "uintBitsToFloat(0x7f800000u)" : "uintBitsToFloat(0xff800000u)";
                String s = Float.toString(f);
                yield f < 0 || s.startsWith("-") ? "(" + s + ")" : s;
            }
            case Double d -> {
                if (d.isNaN()) yield "owl_double(uintBitsToFloat(0x7fc00000u))";
                if (d.isInfinite()) yield "owl_double(uintBitsToFloat(" + (d > 0 ? "0x7f800000u" : "0xff800000u") + "))";
                // both spellings: the preprocessor keeps the double literal only where doubles exist
                String s = Double.toString(Math.abs(d));
                String lit = "OWL_D(" + s + "lf, " + Float.toString((float) Math.abs(d)) + ")";
                yield d < 0 || (d == 0 && 1 / d < 0) ? "(-" + lit + ")" : lit;
            }
            default -> throw new IllegalStateException("constant " + c);
        };
    }

    static String cmp(Expr.CmpOp op) {
        return switch (op) {
            case EQ -> "==";
            case NE -> "!=";
            case LT -> "<";
            case LE -> "<=";
            case GT -> ">";
            case GE -> ">=";
        };
    }

    static final Set<String> RESERVED = CLiterals.words("""
            attribute const uniform varying buffer shared coherent volatile restrict readonly writeonly atomic_uint
            layout centroid flat smooth noperspective patch sample break continue do for while switch case default if
            else subroutine in out inout float double int void bool true false invariant precise discard return
            mat2 mat3 mat4 dmat2 dmat3 dmat4 vec2 vec3 vec4 ivec2 ivec3 ivec4 bvec2 bvec3 bvec4 dvec2 dvec3 dvec4 uint
            uvec2 uvec3 uvec4 lowp mediump highp precision struct common partition active asm class union enum typedef
            template this resource goto inline noinline public static extern external interface long short half fixed
            unsigned superp input output filter sizeof cast namespace using main
            int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t float16_t float32_t float64_t
            radians degrees sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh pow exp log exp2 log2 sqrt
            inversesqrt abs sign floor trunc round roundEven ceil fract mod modf min max clamp mix step smoothstep isnan
            isinf floatBitsToInt floatBitsToUint intBitsToFloat uintBitsToFloat fma frexp ldexp packHalf2x16
            unpackHalf2x16 packDouble2x32 unpackDouble2x32 length distance dot cross normalize uaddCarry usubBorrow
            umulExtended imulExtended bitfieldExtract bitfieldInsert bitfieldReverse bitCount findLSB findMSB
            atomicAdd atomicMin atomicMax atomicAnd atomicOr atomicXor atomicExchange atomicCompSwap barrier
            memoryBarrier memoryBarrierShared memoryBarrierBuffer memoryBarrierImage groupMemoryBarrier
            gl_GlobalInvocationID gl_LocalInvocationID gl_WorkGroupID gl_WorkGroupSize gl_NumWorkGroups
            """);
}
