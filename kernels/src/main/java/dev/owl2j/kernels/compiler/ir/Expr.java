package dev.owl2j.kernels.compiler.ir;

import java.util.List;

/**
 * IR expressions: side-effect free except {@link Call}. Operand types already follow Java's promotion rules
 * (the bytecode inserted every conversion), so a target prints them without adding casts of its own.
 */
public sealed interface Expr {
    Type type();

    /** A constant: Integer (INT, also for BOOL as 0/1), Long, Float or Double. */
    record Const(Type.Prim type, Object value) implements Expr {
        public static Const ofInt(int v) {
            return new Const(Type.Prim.INT, v);
        }

        public boolean isZero() {
            return value instanceof Number n && n.doubleValue() == 0 && !(value instanceof Float f && f.equals(-0.0f))
                    && !(value instanceof Double d && d.equals(-0.0));
        }
    }

    /** The value of a variable (a scalar, or a pointer for array-typed variables). */
    record Local(Variable variable) implements Expr {
        @Override
        public Type type() {
            return variable.type();
        }
    }

    /** A declared LOCAL or PRIVATE array used as a pointer value. */
    record ArrayRef(ArrayDecl decl) implements Expr {
        @Override
        public Type type() {
            return decl.type();
        }
    }

    enum UnOp { NEG, NOT }

    /** NEG: arithmetic negation; NOT: logical negation of a BOOL. */
    record Unary(UnOp op, Expr operand) implements Expr {
        @Override
        public Type type() {
            return op == UnOp.NOT ? Type.Prim.BOOL : operand.type();
        }
    }

    enum BinOp { ADD, SUB, MUL, DIV, REM, AND, OR, XOR, SHL, SHR, USHR }

    /** Java arithmetic on INT, LONG, FLOAT or DOUBLE; shifts keep Java's masking of the shift count. */
    record Binary(BinOp op, Type.Prim type, Expr left, Expr right) implements Expr {}

    enum CmpOp {
        EQ, NE, LT, LE, GT, GE;

        public CmpOp negate() {
            return switch (this) {
                case EQ -> NE;
                case NE -> EQ;
                case LT -> GE;
                case LE -> GT;
                case GT -> LE;
                case GE -> LT;
            };
        }
    }

    /** An IEEE/Java comparison (false when a float operand is NaN, except NE). */
    record Compare(CmpOp op, Expr left, Expr right) implements Expr {
        @Override
        public Type type() {
            return Type.Prim.BOOL;
        }
    }

    /** Short-circuit && (and = true) or ||. */
    record Logic(boolean and, Expr left, Expr right) implements Expr {
        @Override
        public Type type() {
            return Type.Prim.BOOL;
        }
    }

    /** cond ? ifTrue : ifFalse (only one arm is evaluated). */
    record Select(Expr cond, Expr ifTrue, Expr ifFalse) implements Expr {
        @Override
        public Type type() {
            return ifTrue.type();
        }
    }

    /**
     * A Java primitive conversion to {@code to}. BYTE, SHORT and CHAR mean Java's i2b, i2s, i2c: the result is
     * an INT holding the narrowed value. Floating to integral conversions saturate and map NaN to 0, as in Java.
     */
    record Convert(Type.Prim to, Expr operand) implements Expr {
        @Override
        public Type type() {
            return switch (to) {
                case BYTE, SHORT, CHAR -> Type.Prim.INT;
                default -> to;
            };
        }
    }

    /**
     * array[index]. BYTE and SHORT elements load sign-extended to INT (Java's byte/short), CHAR zero-extended.
     */
    record Load(Expr array, Expr index) implements Expr {
        @Override
        public Type type() {
            Type.Prim e = ((Type.ArrayType) array.type()).elem();
            return switch (e) {
                case BYTE, SHORT, CHAR, BOOL -> Type.Prim.INT;
                default -> e;
            };
        }
    }

    enum Builtin { GLOBAL_ID, LOCAL_ID, GROUP_ID, GLOBAL_SIZE, LOCAL_SIZE }

    /** A work-item query in dimension 0..2 (KernelContext.globalIdx is GLOBAL_ID 0). INT. */
    record WorkItem(Builtin what, int dim) implements Expr {
        @Override
        public Type type() {
            return Type.Prim.INT;
        }
    }

    /** Library functions the language maps to target functions; see {@link Intrinsic.Op}. */
    record Intrinsic(Op op, Type.Prim type, List<Expr> args) implements Expr {
        public enum Op {
            // Math.* on FLOAT (single precision on the device) or DOUBLE
            EXP, LOG, LOG10, SQRT, ABS, MIN, MAX, FMA, POW, TANH, SIN, COS, TAN, ASIN, ACOS, ATAN, ATAN2,
            SINH, COSH, FLOOR, CEIL, RINT, EXPM1, LOG1P, CBRT, HYPOT, COPYSIGN,
            /** Float.float16ToFloat(short) */
            F16_TO_F32,
            /** Float.floatToFloat16(float): the short's bits as a sign-extended INT */
            F32_TO_F16,
            FLOAT_TO_RAW_INT_BITS, INT_BITS_TO_FLOAT, DOUBLE_TO_RAW_LONG_BITS, LONG_BITS_TO_DOUBLE,
            /** Float.isNaN, Double.isNaN: BOOL */
            IS_NAN,
            /** Integer.numberOfLeadingZeros, Integer.bitCount (and the Long versions): INT */
            CLZ, POPCOUNT,
            /** ByteArray.getShort(byteOffset): args (array, byteOffset); the 16 bits as a sign-extended INT */
            BYTES_GET_SHORT
        }
    }

    /** A call of another device function of the module. */
    record Call(Function function, List<Expr> args) implements Expr {
        @Override
        public Type type() {
            return function.returnType();
        }
    }
}
