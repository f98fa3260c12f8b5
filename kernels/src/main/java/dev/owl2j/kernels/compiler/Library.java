package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.compiler.ir.ArrayDecl;
import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Expr.Intrinsic.Op;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.Stmt;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Type.Prim;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.lang.classfile.Opcode;
import java.lang.classfile.instruction.FieldInstruction;
import java.lang.classfile.instruction.InvokeInstruction;
import java.lang.constant.MethodTypeDesc;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The methods and fields a kernel may use: KernelContext (work-item ids, barriers, local arrays), the device
 * arrays of dev.owl2j.kernels.lang, java.lang.Math, the bit conversions of Float/Double/Integer/Long, and static
 * methods of any class (compiled as device functions). Everything else is refused.
 */
final class Library {
    private static final String LANG = "dev/owl2j/kernels/lang/";
    private static final Map<String, Prim> ARRAYS = Map.of(
            LANG + "FloatArray", Prim.FLOAT, LANG + "IntArray", Prim.INT, LANG + "ShortArray", Prim.SHORT,
            LANG + "ByteArray", Prim.BYTE, LANG + "DoubleArray", Prim.DOUBLE, LANG + "LongArray", Prim.LONG);

    private final MethodTranslator t;

    Library(MethodTranslator t) {
        this.t = t;
    }

    /** Element type of a device array class descriptor (Ldev/owl2j/kernels/lang/FloatArray;), else null. */
    static Prim nativeArrayElem(String descriptor) {
        if (!descriptor.startsWith("L") || !descriptor.endsWith(";")) return null;
        return ARRAYS.get(descriptor.substring(1, descriptor.length() - 1));
    }

    /** Element type of a Java primitive array descriptor letter allowed for local/private arrays. */
    static Prim javaArrayElem(char c) {
        return switch (c) {
            case 'F' -> Prim.FLOAT;
            case 'I' -> Prim.INT;
            case 'D' -> Prim.DOUBLE;
            case 'J' -> Prim.LONG;
            default -> null;
        };
    }

    static Expr convert(Prim to, Expr e) {
        if (e.type() == to) return e;
        // (float) Math.f((double) x) on a float x: the single-precision function (docs/kernels.md, "Math")
        if (to == Prim.FLOAT && e instanceof Expr.Intrinsic i && i.type() == Prim.DOUBLE && singlePrecisionable(i.op())
                && !i.args().isEmpty() && i.args().stream().allMatch(a -> a instanceof Expr.Convert c && c.to() == Prim.DOUBLE
                && c.operand().type() == Prim.FLOAT)) {
            return new Expr.Intrinsic(i.op(), Prim.FLOAT, i.args().stream().map(a -> ((Expr.Convert) a).operand()).toList());
        }
        if (e instanceof Expr.Const c && to != Prim.BYTE && to != Prim.SHORT && to != Prim.CHAR) return fold(to, c);
        return new Expr.Convert(to, e);
    }

    private static boolean singlePrecisionable(Op op) {
        return switch (op) {
            case EXP, LOG, LOG10, SQRT, POW, TANH, SIN, COS, TAN, ASIN, ACOS, ATAN, ATAN2, SINH, COSH, FLOOR, CEIL,
                 RINT, EXPM1, LOG1P, CBRT, HYPOT -> true;
            default -> false;
        };
    }

    private static Expr fold(Prim to, Expr.Const c) {
        Number n = (Number) c.value();
        return switch (to) {
            case INT -> n instanceof Float || n instanceof Double ? new Expr.Convert(to, c) : Expr.Const.ofInt(n.intValue());
            case LONG -> n instanceof Float || n instanceof Double ? new Expr.Convert(to, c) : new Expr.Const(Prim.LONG, n.longValue());
            case FLOAT -> new Expr.Const(Prim.FLOAT, n.floatValue());
            case DOUBLE -> new Expr.Const(Prim.DOUBLE, n.doubleValue());
            default -> new Expr.Convert(to, c);
        };
    }

    void field(FieldInstruction f) {
        String owner = f.owner().asInternalName();
        String name = f.name().stringValue();
        if (owner.equals(MethodTranslator.CONTEXT) && f.opcode() == Opcode.GETFIELD) {
            Object recv = t.pop();
            if (recv != MethodTranslator.Ctx.INSTANCE) throw t.refuse("KernelContext field read through another variable");
            Expr.Builtin b;
            int dim = name.endsWith("x") || name.endsWith("X") ? 0 : name.endsWith("y") || name.endsWith("Y") ? 1 : 2;
            String base = name.substring(0, name.length() - 1);
            b = switch (base) {
                case "globalId" -> Expr.Builtin.GLOBAL_ID;
                case "localId" -> Expr.Builtin.LOCAL_ID;
                case "groupId" -> Expr.Builtin.GROUP_ID;
                case "globalGroupSize" -> Expr.Builtin.GLOBAL_SIZE;
                case "localGroupSize" -> Expr.Builtin.LOCAL_SIZE;
                default -> throw t.refuse("KernelContext field " + name);
            };
            t.push(new Expr.WorkItem(b, dim));
            return;
        }
        String what = switch (f.opcode()) {
            case GETSTATIC -> "read of static field ";
            case PUTSTATIC -> "write of static field ";
            case GETFIELD -> "read of object field ";
            default -> "write of object field ";
        };
        throw t.refuse(what + owner.replace('/', '.') + "." + name
                + (f.opcode() == Opcode.GETSTATIC ? " (only compile-time constants, static final primitives, can be used)" : ""));
    }

    void invoke(InvokeInstruction inv) {
        String owner = inv.owner().asInternalName();
        String name = inv.name().stringValue();
        MethodTypeDesc type = inv.typeSymbol();
        String desc = type.descriptorString();
        if (owner.equals(MethodTranslator.CONTEXT)) {
            context(inv.opcode(), name, type);
            return;
        }
        Prim arrayElem = ARRAYS.get(owner);
        if (arrayElem != null && inv.opcode() == Opcode.INVOKEVIRTUAL) {
            nativeArray(name, desc, arrayElem);
            return;
        }
        if (inv.opcode() != Opcode.INVOKESTATIC) {
            String kind = switch (inv.opcode()) {
                case INVOKESPECIAL -> name.equals("<init>") ? "object construction" : "call of a private or super method";
                case INVOKEINTERFACE -> "interface call";
                default -> "virtual call";
            };
            throw t.refuse(kind + " " + owner.replace('/', '.') + "." + name + " (kernels call static methods only)");
        }
        switch (owner) {
            case "java/lang/Math", "java/lang/StrictMath" -> math(name, type);
            case "java/lang/Float" -> floatBits(name, desc);
            case "java/lang/Double" -> doubleBits(name, desc);
            case "java/lang/Integer", "java/lang/Long" -> integer(owner.endsWith("Long") ? Prim.LONG : Prim.INT, name, desc);
            default -> {
                if (owner.startsWith("java/") || owner.startsWith("javax/") || owner.startsWith("jdk/") || owner.startsWith("sun/")) {
                    throw t.refuse("call of library method " + owner.replace('/', '.') + "." + name);
                }
                call(owner, name, type);
            }
        }
    }

    private void context(Opcode op, String name, MethodTypeDesc type) {
        List<Expr> args = new ArrayList<>();
        for (int i = 0; i < type.parameterCount(); i++) args.add(0, t.popExpr());
        Object recv = t.pop();
        if (recv != MethodTranslator.Ctx.INSTANCE) throw t.refuse("KernelContext method called through another variable");
        switch (name) {
            case "localBarrier" -> t.emit(new Stmt.Barrier(false));
            case "globalBarrier" -> t.emit(new Stmt.Barrier(true));
            case "allocateFloatLocalArray", "allocateIntLocalArray", "allocateDoubleLocalArray", "allocateLongLocalArray" -> {
                Prim elem = switch (name) {
                    case "allocateFloatLocalArray" -> Prim.FLOAT;
                    case "allocateIntLocalArray" -> Prim.INT;
                    case "allocateDoubleLocalArray" -> Prim.DOUBLE;
                    default -> Prim.LONG;
                };
                t.checkCaps(elem);
                if (!t.kernel) throw t.refuse(name + " outside the kernel method (allocate local arrays in the kernel and pass them on)");
                if (!(args.get(0) instanceof Expr.Const c) || (int) c.value() <= 0) {
                    throw t.refuse(name + " with a size that is not a positive compile-time constant");
                }
                ArrayDecl d = new ArrayDecl("$l" + t.function().arrays().size(), elem, Type.Space.LOCAL, (int) c.value());
                t.function().arrays().add(d);
                t.push(new Expr.ArrayRef(d));
            }
            default -> throw t.refuse("KernelContext." + name);
        }
    }

    private void nativeArray(String name, String desc, Prim elem) {
        switch (name + desc) {
            case "get(I)F", "get(I)I", "get(I)S", "get(I)B", "get(I)D", "get(I)J" -> {
                Expr idx = t.popExpr();
                Expr arr = t.arrayExpr(t.pop());
                t.push(new Expr.Load(arr, idx));
            }
            case "set(IF)V", "set(II)V", "set(IS)V", "set(IB)V", "set(ID)V", "set(IJ)V" -> {
                Expr v = t.popExpr(), idx = t.popExpr();
                Expr arr = t.arrayExpr(t.pop());
                t.emit(new Stmt.Store(arr, idx, v));
            }
            case "getSize()I" -> {
                Expr arr = t.arrayExpr(t.pop());
                if (!(arr instanceof Expr.Local l) || l.variable().kind() != Variable.Kind.PARAM || !t.kernel) {
                    throw t.refuse("getSize() of an array other than a kernel parameter");
                }
                t.push(new Expr.Local(t.compiler.sizeParam(t.function(), l.variable())));
            }
            case "getShort(I)S" -> {
                Expr off = t.popExpr();
                Expr arr = t.arrayExpr(t.pop());
                t.push(new Expr.Intrinsic(Op.BYTES_GET_SHORT, Prim.INT, List.of(arr, off)));
            }
            default -> throw t.refuse("host-side array method " + name + " (kernels use get, set and getSize)");
        }
    }

    private List<Expr> popArgs(int n) {
        List<Expr> args = new ArrayList<>();
        for (int i = 0; i < n; i++) args.add(0, t.popExpr());
        return args;
    }

    private void math(String name, MethodTypeDesc type) {
        String desc = type.descriptorString();
        Prim rt = switch (type.returnType().descriptorString()) {
            case "F" -> Prim.FLOAT;
            case "D" -> Prim.DOUBLE;
            case "I" -> Prim.INT;
            case "J" -> Prim.LONG;
            default -> null;
        };
        Op op = switch (name) {
            case "exp" -> Op.EXP;
            case "log" -> Op.LOG;
            case "log10" -> Op.LOG10;
            case "sqrt" -> Op.SQRT;
            case "cbrt" -> Op.CBRT;
            case "abs" -> Op.ABS;
            case "min" -> Op.MIN;
            case "max" -> Op.MAX;
            case "fma" -> Op.FMA;
            case "pow" -> Op.POW;
            case "tanh" -> Op.TANH;
            case "sin" -> Op.SIN;
            case "cos" -> Op.COS;
            case "tan" -> Op.TAN;
            case "asin" -> Op.ASIN;
            case "acos" -> Op.ACOS;
            case "atan" -> Op.ATAN;
            case "atan2" -> Op.ATAN2;
            case "sinh" -> Op.SINH;
            case "cosh" -> Op.COSH;
            case "floor" -> Op.FLOOR;
            case "ceil" -> Op.CEIL;
            case "rint" -> Op.RINT;
            case "expm1" -> Op.EXPM1;
            case "log1p" -> Op.LOG1P;
            case "hypot" -> Op.HYPOT;
            case "copySign" -> Op.COPYSIGN;
            default -> null;
        };
        if (op == null || rt == null) throw t.refuse("Math." + name + desc + " (see docs/kernels.md for the Math functions kernels can use)");
        t.checkCaps(rt);
        t.push(new Expr.Intrinsic(op, rt, popArgs(type.parameterCount())));
    }

    private void floatBits(String name, String desc) {
        switch (name + desc) {
            case "float16ToFloat(S)F" -> t.push(new Expr.Intrinsic(Op.F16_TO_F32, Prim.FLOAT, popArgs(1)));
            case "floatToFloat16(F)S" -> t.push(new Expr.Intrinsic(Op.F32_TO_F16, Prim.INT, popArgs(1)));
            case "floatToRawIntBits(F)I" -> t.push(new Expr.Intrinsic(Op.FLOAT_TO_RAW_INT_BITS, Prim.INT, popArgs(1)));
            case "floatToIntBits(F)I" -> {
                Expr x = t.popExpr();
                // Java's canonical NaN
                t.push(new Expr.Select(new Expr.Intrinsic(Op.IS_NAN, Prim.BOOL, List.of(x)), Expr.Const.ofInt(0x7fc00000),
                        new Expr.Intrinsic(Op.FLOAT_TO_RAW_INT_BITS, Prim.INT, List.of(x))));
            }
            case "intBitsToFloat(I)F" -> t.push(new Expr.Intrinsic(Op.INT_BITS_TO_FLOAT, Prim.FLOAT, popArgs(1)));
            case "isNaN(F)Z" -> t.push(boolToInt(new Expr.Intrinsic(Op.IS_NAN, Prim.BOOL, popArgs(1))));
            case "isInfinite(F)Z" -> t.push(boolToInt(new Expr.Compare(Expr.CmpOp.EQ,
                    new Expr.Intrinsic(Op.ABS, Prim.FLOAT, popArgs(1)), new Expr.Const(Prim.FLOAT, Float.POSITIVE_INFINITY))));
            default -> throw t.refuse("Float." + name + desc);
        }
    }

    private void doubleBits(String name, String desc) {
        t.checkCaps(Prim.DOUBLE);
        switch (name + desc) {
            case "doubleToRawLongBits(D)J" -> {
                t.checkCaps(Prim.LONG);
                t.push(new Expr.Intrinsic(Op.DOUBLE_TO_RAW_LONG_BITS, Prim.LONG, popArgs(1)));
            }
            case "longBitsToDouble(J)D" -> t.push(new Expr.Intrinsic(Op.LONG_BITS_TO_DOUBLE, Prim.DOUBLE, popArgs(1)));
            case "isNaN(D)Z" -> t.push(boolToInt(new Expr.Intrinsic(Op.IS_NAN, Prim.BOOL, popArgs(1))));
            default -> throw t.refuse("Double." + name + desc);
        }
    }

    private void integer(Prim p, String name, String desc) {
        String box = p == Prim.LONG ? "Long." : "Integer.";
        if (p == Prim.LONG) t.checkCaps(Prim.LONG);
        switch (name) {
            case "numberOfLeadingZeros" -> t.push(new Expr.Intrinsic(Op.CLZ, Prim.INT, popArgs(1)));
            case "bitCount" -> t.push(new Expr.Intrinsic(Op.POPCOUNT, Prim.INT, popArgs(1)));
            case "min" -> t.push(new Expr.Intrinsic(Op.MIN, p, popArgs(2)));
            case "max" -> t.push(new Expr.Intrinsic(Op.MAX, p, popArgs(2)));
            case "toUnsignedLong" -> {
                t.checkCaps(Prim.LONG);
                Expr x = t.popExpr();
                t.push(new Expr.Binary(Expr.BinOp.AND, Prim.LONG, new Expr.Convert(Prim.LONG, x), new Expr.Const(Prim.LONG, 0xffffffffL)));
            }
            default -> throw t.refuse(box + name + desc);
        }
    }

    /** Java booleans are ints on the operand stack. */
    private static Expr boolToInt(Expr b) {
        return new Expr.Select(b, Expr.Const.ofInt(1), Expr.Const.ofInt(0));
    }

    private void call(String owner, String name, MethodTypeDesc type) {
        int n = type.parameterCount();
        List<Object> raw = new ArrayList<>();
        for (int i = 0; i < n; i++) raw.add(0, t.pop());
        List<Expr> args = new ArrayList<>();
        List<Type> argTypes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Object a = raw.get(i);
            if (a == MethodTranslator.Ctx.INSTANCE) {
                if (!type.parameterType(i).descriptorString().equals("L" + MethodTranslator.CONTEXT + ";")) {
                    throw t.refuse("KernelContext passed as " + type.parameterType(i).displayName());
                }
                continue;
            }
            Expr e = t.asExpr(a);
            args.add(e);
            argTypes.add(e.type());
        }
        Function f = t.compiler.function(owner, name, type.descriptorString(), argTypes, t);
        Expr call = new Expr.Call(f, args);
        if (f.returnType() == Prim.VOID) t.emit(new Stmt.Eval(call));
        else t.pushCall(call);
    }
}
