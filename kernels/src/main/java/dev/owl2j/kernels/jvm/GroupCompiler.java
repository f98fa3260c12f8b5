package dev.owl2j.kernels.jvm;

import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.compiler.ir.ArrayDecl;
import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.IrWalk;
import dev.owl2j.kernels.compiler.ir.Stmt;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Type.Prim;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.classfile.Opcode;
import java.lang.classfile.TypeKind;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDescs;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles a kernel that has barriers into a JVM method that runs one whole work group without threads: the
 * kernel's IR (calls inlined) is cut at its barriers, and each stretch between two barriers becomes a loop over
 * the group's work-items ("work-item loops", as CPU OpenCL implementations do it). Every variable is an array with
 * one element per work-item; local arrays are shared by the group, private arrays are one per work-item. Control
 * flow that encloses a barrier is the group's: its condition is computed by every work-item and must agree (OpenCL
 * requires that; a disagreement fails the launch naming the kernel). A work-item that returns drops out of the
 * remaining stretches. The semantics are the Java method's: the same operations in the same order per work-item,
 * so the results equal running the method itself on threads (the threads path checks this in the tests).
 *
 * <p>Over 500 lines because the code generator is one switch over the IR; the barrier splitting and the
 * per-work-item storage it relies on must be read together.
 */
final class GroupCompiler {
    private static final ClassDesc OBJECT_ARRAY = ConstantDescs.CD_Object.arrayType();
    static final MethodType TYPE = MethodType.methodType(void.class, Object[].class, int.class, int.class, int.class,
            int.class, int.class, int.class, int.class, int.class, int.class);
    private static final MethodTypeDesc DESC = MethodTypeDesc.of(ConstantDescs.CD_void, OBJECT_ARRAY, ConstantDescs.CD_int,
            ConstantDescs.CD_int, ConstantDescs.CD_int, ConstantDescs.CD_int, ConstantDescs.CD_int, ConstantDescs.CD_int,
            ConstantDescs.CD_int, ConstantDescs.CD_int, ConstantDescs.CD_int);
    private static final ClassDesc SUPPORT = ClassDesc.of(GroupSupport.class.getName());
    private static final String LANG = "dev.owl2j.kernels.lang.";
    private static int classes;

    // slots of the generated method's arguments
    private static final int ARGS = 0, GX = 1, LSX = 4, NGX = 7;

    private final Function kernel;
    private final List<Stmt> body;
    private final List<ArrayDecl> arrays;
    private CodeBuilder cb;
    private int n, wi, done, exit, lid0;
    private final Map<Variable, Integer> slots = new IdentityHashMap<>();
    private final Set<Variable> uniform = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<ArrayDecl, Integer> arraySlots = new IdentityHashMap<>();
    /** Group-level labels: break and continue targets of constructs that enclose barriers. */
    private final Map<Stmt.Label, Label> groupBreak = new IdentityHashMap<>(), groupContinue = new IdentityHashMap<>();
    /** Inside a work-item loop: targets of constructs inside it, and the exits to group labels it takes. */
    private final Map<Stmt.Label, Label> itemBreak = new IdentityHashMap<>(), itemContinue = new IdentityHashMap<>();
    private Map<Label, Integer> exits;
    private Label nextItem;

    private GroupCompiler(Function kernel, Inliner.Inlined inlined) {
        this.kernel = kernel;
        this.body = inlined.body();
        this.arrays = inlined.arrays();
    }

    /** The group method for kernel, or null when its calls cannot be inlined (then it runs on threads). */
    static MethodHandle compile(Function kernel) {
        Inliner.Inlined in = Inliner.inline(kernel);
        if (in == null) return null;
        GroupCompiler g = new GroupCompiler(kernel, in);
        String name = GroupCompiler.class.getPackageName() + ".Group" + (classes++) + "_" + kernel.javaMethod().replaceAll("[^A-Za-z0-9_]", "_");
        byte[] bytes = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
                        ClassHierarchyResolver.ofResourceParsing(GroupCompiler.class.getClassLoader()).orElse(ClassHierarchyResolver.defaultResolver())))
                .build(ClassDesc.of(name), c -> c.withFlags(ClassFile.ACC_FINAL)
                        .withMethodBody("run", DESC, ClassFile.ACC_STATIC, code -> g.generate(code)));
        try {
            MethodHandles.Lookup l = MethodHandles.lookup().defineHiddenClass(bytes, true);
            return l.findStatic(l.lookupClass(), "run", TYPE);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new DeviceException("java backend: generating the work-group code of kernel " + kernel.javaMethod() + " failed: " + e, e);
        }
    }

    // ---- types ----

    private static TypeKind kind(Type t) {
        if (t instanceof Type.ArrayType) return TypeKind.REFERENCE;
        return switch ((Prim) t) {
            case LONG -> TypeKind.LONG;
            case FLOAT -> TypeKind.FLOAT;
            case DOUBLE -> TypeKind.DOUBLE;
            default -> TypeKind.INT;
        };
    }

    private static ClassDesc primDesc(Prim p) {
        return switch (p) {
            case LONG -> ConstantDescs.CD_long;
            case FLOAT -> ConstantDescs.CD_float;
            case DOUBLE -> ConstantDescs.CD_double;
            case SHORT -> ConstantDescs.CD_short;
            case BYTE -> ConstantDescs.CD_byte;
            case CHAR -> ConstantDescs.CD_char;
            default -> ConstantDescs.CD_int;
        };
    }

    /** The JVM class of a value of type t: a device array class for GLOBAL pointers, a Java array otherwise. */
    private static ClassDesc desc(Type t) {
        if (t instanceof Type.ArrayType at) {
            if (at.space() == Type.Space.GLOBAL) return ClassDesc.of(LANG + nativeArray(at.elem()));
            return primDesc(at.elem()).arrayType();
        }
        return primDesc((Prim) t);
    }

    private static String nativeArray(Prim elem) {
        return switch (elem) {
            case FLOAT -> "FloatArray";
            case INT -> "IntArray";
            case SHORT -> "ShortArray";
            case BYTE -> "ByteArray";
            case DOUBLE -> "DoubleArray";
            default -> "LongArray";
        };
    }

    private static TypeKind elemKind(Prim p) {
        return switch (p) {
            case FLOAT -> TypeKind.FLOAT;
            case DOUBLE -> TypeKind.DOUBLE;
            case LONG -> TypeKind.LONG;
            case SHORT -> TypeKind.SHORT;
            case BYTE -> TypeKind.BYTE;
            case CHAR -> TypeKind.CHAR;
            default -> TypeKind.INT;
        };
    }

    // ---- prologue ----

    private void generate(CodeBuilder code) {
        this.cb = code;
        n = cb.allocateLocal(TypeKind.INT);
        cb.iload(LSX).iload(LSX + 1).imul().iload(LSX + 2).imul().istore(n);
        wi = cb.allocateLocal(TypeKind.INT);
        lid0 = cb.allocateLocal(TypeKind.INT);
        cb.allocateLocal(TypeKind.INT);
        cb.allocateLocal(TypeKind.INT);
        done = newArray(TypeKind.BOOLEAN);
        exit = newArray(TypeKind.INT);
        // parameters: uniform unless the kernel assigns them
        Set<Variable> assigned = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        IrWalk.statements(body, s -> {
            if (s instanceof Stmt.Assign a) assigned.add(a.variable());
        });
        List<Variable> params = kernel.params();
        Map<Variable, Integer> argSlots = new IdentityHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            Variable p = params.get(i);
            int slot = cb.allocateLocal(kind(p.type()));
            cb.aload(ARGS).loadConstant(i).aaload();
            unboxOrCast(p.type());
            cb.storeLocal(kind(p.type()), slot);
            argSlots.put(p, slot);
            if (assigned.contains(p)) {
                int arr = perItemArray(p.type());
                fillAll(arr, p.type(), slot);
                slots.put(p, arr);
            } else {
                slots.put(p, slot);
                uniform.add(p);
            }
        }
        for (Variable s : kernel.sizeParams()) {
            int slot = cb.allocateLocal(TypeKind.INT);
            cb.aload(argSlots.get(s.sizeOf()));
            cb.invokevirtual(desc(s.sizeOf().type()), "getSize", MethodTypeDesc.of(ConstantDescs.CD_int));
            cb.istore(slot);
            slots.put(s, slot);
            uniform.add(s);
        }
        for (ArrayDecl d : arrays) {
            int slot = cb.allocateLocal(TypeKind.REFERENCE);
            if (d.space() == Type.Space.LOCAL) {
                cb.loadConstant(d.length());
                newPrimArray(d.elem());
            } else {
                cb.iload(n).loadConstant(d.length());
                cb.multianewarray(primDesc(d.elem()).arrayType().arrayType(), 2);
            }
            cb.astore(slot);
            arraySlots.put(d, slot);
        }
        for (Variable v : IrWalk.variables(body)) {
            if (!slots.containsKey(v)) slots.put(v, perItemArray(v.type()));
        }
        group(body);
        cb.return_();
    }

    private int newArray(TypeKind k) {
        int slot = cb.allocateLocal(TypeKind.REFERENCE);
        cb.iload(n).newarray(k).astore(slot);
        return slot;
    }

    private void newPrimArray(Prim elem) {
        cb.newarray(switch (elem) {
            case FLOAT -> TypeKind.FLOAT;
            case DOUBLE -> TypeKind.DOUBLE;
            case LONG -> TypeKind.LONG;
            default -> TypeKind.INT;
        });
    }

    /** A per-work-item array for a variable of type t. */
    private int perItemArray(Type t) {
        int slot = cb.allocateLocal(TypeKind.REFERENCE);
        cb.iload(n);
        if (t instanceof Type.ArrayType) cb.anewarray(desc(t));
        else cb.newarray(kind(t));
        cb.astore(slot);
        return slot;
    }

    private void fillAll(int arr, Type t, int valueSlot) {
        Label top = cb.newLabel(), end = cb.newLabel();
        cb.iconst_0().istore(wi);
        cb.labelBinding(top);
        cb.iload(wi).iload(n).if_icmpge(end);
        cb.aload(arr).iload(wi).loadLocal(kind(t), valueSlot).arrayStore(kind(t));
        cb.iinc(wi, 1).goto_(top);
        cb.labelBinding(end);
    }

    private void unboxOrCast(Type t) {
        if (t instanceof Type.ArrayType) {
            cb.checkcast(desc(t));
            return;
        }
        String box = switch ((Prim) t) {
            case LONG -> "java.lang.Long";
            case FLOAT -> "java.lang.Float";
            case DOUBLE -> "java.lang.Double";
            default -> "java.lang.Integer";
        };
        String getter = switch ((Prim) t) {
            case LONG -> "longValue";
            case FLOAT -> "floatValue";
            case DOUBLE -> "doubleValue";
            default -> "intValue";
        };
        cb.checkcast(ClassDesc.of(box));
        cb.invokevirtual(ClassDesc.of(box), getter, MethodTypeDesc.of(primDesc((Prim) t)));
    }

    // ---- group level ----

    private static boolean barrier(Stmt s) {
        return IrWalk.hasBarrier(List.of(s));
    }

    /** Statements at group level: runs of barrier-free statements become work-item loops. */
    private void group(List<Stmt> stmts) {
        List<Stmt> pending = new ArrayList<>();
        for (Stmt s : stmts) {
            if (!barrier(s)) {
                pending.add(s);
                continue;
            }
            eachItem(pending);
            pending = new ArrayList<>();
            switch (s) {
                case Stmt.Barrier b -> {
                }
                case Stmt.If i -> {
                    Variable flag = new Variable("$if", Prim.INT, Variable.Kind.TEMP);
                    slots.put(flag, perItemArray(Prim.INT));
                    eachItem(List.of(new Stmt.Assign(flag, new Expr.Select(i.cond(), Expr.Const.ofInt(1), Expr.Const.ofInt(0)))));
                    Label otherwise = cb.newLabel(), end = cb.newLabel();
                    uniformFlag(flag);
                    cb.ifeq(otherwise);
                    group(i.then());
                    cb.goto_(end);
                    cb.labelBinding(otherwise);
                    group(i.otherwise());
                    cb.labelBinding(end);
                }
                case Stmt.Loop l -> {
                    Label top = cb.newLabel(), cont = cb.newLabel(), brk = cb.newLabel();
                    groupBreak.put(l.label(), brk);
                    groupContinue.put(l.label(), cont);
                    cb.labelBinding(top);
                    if (l.cond() != null) {
                        Variable flag = new Variable("$while", Prim.INT, Variable.Kind.TEMP);
                        slots.put(flag, perItemArray(Prim.INT));
                        eachItem(List.of(new Stmt.Assign(flag, new Expr.Select(l.cond(), Expr.Const.ofInt(1), Expr.Const.ofInt(0)))));
                        uniformFlag(flag);
                        cb.ifeq(brk);
                    }
                    group(l.body());
                    cb.labelBinding(cont);
                    group(l.update());
                    cb.goto_(top);
                    cb.labelBinding(brk);
                }
                case Stmt.Block b -> {
                    Label end = cb.newLabel();
                    groupBreak.put(b.label(), end);
                    group(b.body());
                    cb.labelBinding(end);
                }
                default -> throw new IllegalStateException("barrier inside " + s);
            }
        }
        eachItem(pending);
    }

    /** Pushes the value every active work-item holds in flag (checking that they agree). */
    private void uniformFlag(Variable flag) {
        cb.aload(slots.get(flag)).aload(done).ldc(kernel.javaMethod());
        cb.invokestatic(SUPPORT, "uniform", MethodTypeDesc.of(ConstantDescs.CD_int, ConstantDescs.CD_int.arrayType(),
                ConstantDescs.CD_boolean.arrayType(), ConstantDescs.CD_String));
    }

    /** A loop over the group's active work-items running stmts (no barriers inside). */
    private void eachItem(List<Stmt> stmts) {
        if (stmts.isEmpty()) return;
        exits = new LinkedHashMap<>();
        itemBreak.clear();
        itemContinue.clear();
        Label top = cb.newLabel(), after = cb.newLabel();
        nextItem = cb.newLabel();
        cb.iconst_0().istore(wi);
        cb.labelBinding(top);
        cb.iload(wi).iload(n).if_icmpge(after);
        cb.aload(done).iload(wi).baload().ifne(nextItem);
        cb.aload(exit).iload(wi).iconst_0().iastore();
        // local ids of work-item wi
        cb.iload(wi).iload(LSX).irem().istore(lid0);
        cb.iload(wi).iload(LSX).idiv().iload(LSX + 1).irem().istore(lid0 + 1);
        cb.iload(wi).iload(LSX).iload(LSX + 1).imul().idiv().istore(lid0 + 2);
        statements(stmts);
        cb.labelBinding(nextItem);
        cb.iinc(wi, 1).goto_(top);
        cb.labelBinding(after);
        // all returned: the group is done
        Label alive = cb.newLabel();
        cb.aload(done).invokestatic(SUPPORT, "allDone", MethodTypeDesc.of(ConstantDescs.CD_boolean, ConstantDescs.CD_boolean.arrayType()));
        cb.ifeq(alive);
        cb.return_();
        cb.labelBinding(alive);
        if (!exits.isEmpty()) {
            cb.aload(exit).aload(done).ldc(kernel.javaMethod());
            cb.invokestatic(SUPPORT, "uniform", MethodTypeDesc.of(ConstantDescs.CD_int, ConstantDescs.CD_int.arrayType(),
                    ConstantDescs.CD_boolean.arrayType(), ConstantDescs.CD_String));
            int code = cb.allocateLocal(TypeKind.INT);
            cb.istore(code);
            for (var e : exits.entrySet()) {
                cb.iload(code).loadConstant(e.getValue()).if_icmpeq(e.getKey());
            }
        }
        exits = null;
    }

    // ---- per work-item statements ----

    private void statements(List<Stmt> stmts) {
        for (Stmt s : stmts) statement(s);
    }

    private void statement(Stmt s) {
        switch (s) {
            case Stmt.Assign a -> {
                Variable v = a.variable();
                TypeKind k = kind(v.type());
                if (uniform.contains(v)) throw new IllegalStateException("assignment to a uniform variable " + v);
                cb.aload(slots.get(v)).iload(wi);
                expr(a.value());
                cb.arrayStore(k);
            }
            case Stmt.Store st -> {
                Type.ArrayType at = (Type.ArrayType) st.array().type();
                expr(st.array());
                expr(st.index());
                expr(st.value());
                if (at.space() == Type.Space.GLOBAL) {
                    if (at.elem() == Prim.SHORT) cb.i2s();
                    if (at.elem() == Prim.BYTE) cb.i2b();
                    cb.invokevirtual(desc(at), "set", MethodTypeDesc.of(ConstantDescs.CD_void, ConstantDescs.CD_int, primDesc(at.elem())));
                } else {
                    cb.arrayStore(elemKind(at.elem()));
                }
            }
            case Stmt.Eval e -> {
            }
            case Stmt.Barrier b -> throw new IllegalStateException("barrier in a work-item loop");
            case Stmt.If i -> {
                Label otherwise = cb.newLabel(), end = cb.newLabel();
                cond(i.cond(), otherwise, false);
                statements(i.then());
                cb.goto_(end);
                cb.labelBinding(otherwise);
                statements(i.otherwise());
                cb.labelBinding(end);
            }
            case Stmt.Loop l -> {
                Label top = cb.newLabel(), cont = cb.newLabel(), brk = cb.newLabel();
                itemBreak.put(l.label(), brk);
                itemContinue.put(l.label(), cont);
                cb.labelBinding(top);
                if (l.cond() != null) cond(l.cond(), brk, false);
                statements(l.body());
                cb.labelBinding(cont);
                statements(l.update());
                cb.goto_(top);
                cb.labelBinding(brk);
            }
            case Stmt.Block b -> {
                Label end = cb.newLabel();
                itemBreak.put(b.label(), end);
                statements(b.body());
                cb.labelBinding(end);
            }
            case Stmt.Break b -> jump(b.target(), itemBreak, groupBreak);
            case Stmt.Continue c -> jump(c.target(), itemContinue, groupContinue);
            case Stmt.Return r -> {
                cb.aload(done).iload(wi).iconst_1().bastore();
                cb.goto_(nextItem);
            }
        }
    }

    /** A jump inside the work-item loop, or an exit to a group-level target (taken after all work-items ran). */
    private void jump(Stmt.Label target, Map<Stmt.Label, Label> item, Map<Stmt.Label, Label> grp) {
        Label l = item.get(target);
        if (l != null) {
            cb.goto_(l);
            return;
        }
        Label g = grp.get(target);
        if (g == null) throw new IllegalStateException("jump to an unknown label " + target);
        int code = exits.computeIfAbsent(g, x -> exits.size() + 1);
        cb.aload(exit).iload(wi).loadConstant(code).iastore();
        cb.goto_(nextItem);
    }

    // ---- expressions ----

    /** Jumps to target when cond evaluates to when; falls through otherwise. */
    private void cond(Expr c, Label target, boolean when) {
        switch (c) {
            case Expr.Unary u when u.op() == Expr.UnOp.NOT -> cond(u.operand(), target, !when);
            case Expr.Logic l -> {
                if (l.and() != when) { // (and, jump if false) or (or, jump if true): either side decides
                    cond(l.left(), target, when);
                    cond(l.right(), target, when);
                } else {
                    Label skip = cb.newLabel();
                    cond(l.left(), skip, !when);
                    cond(l.right(), target, when);
                    cb.labelBinding(skip);
                }
            }
            case Expr.Compare cmp -> compare(cmp, target, when);
            default -> {
                expr(c);
                if (when) cb.ifne(target);
                else cb.ifeq(target);
            }
        }
    }

    private void compare(Expr.Compare c, Label target, boolean when) {
        Expr.CmpOp op = when ? c.op() : c.op().negate();
        Prim t = (Prim) c.left().type();
        expr(c.left());
        expr(c.right());
        if (t == Prim.INT || t == Prim.BOOL) {
            cb.branch(switch (op) {
                case EQ -> Opcode.IF_ICMPEQ;
                case NE -> Opcode.IF_ICMPNE;
                case LT -> Opcode.IF_ICMPLT;
                case LE -> Opcode.IF_ICMPLE;
                case GT -> Opcode.IF_ICMPGT;
                default -> Opcode.IF_ICMPGE;
            }, target);
            return;
        }
        // floating comparisons: NaN makes every comparison but != false, so a negated one (when == false) is true
        boolean nanJumps = when ? c.op() == Expr.CmpOp.NE : c.op() != Expr.CmpOp.NE;
        if (t == Prim.LONG) cb.lcmp();
        else {
            // pick the compare instruction whose NaN result (+1 for g, -1 for l) makes the branch go the right way
            boolean nanAsGreater = switch (op) {
                case LT, LE -> !nanJumps;
                case GT, GE -> nanJumps;
                case EQ, NE -> true;
            };
            if (t == Prim.FLOAT) {
                if (nanAsGreater) cb.fcmpg(); else cb.fcmpl();
            } else {
                if (nanAsGreater) cb.dcmpg(); else cb.dcmpl();
            }
            if ((op == Expr.CmpOp.EQ && nanJumps) || (op == Expr.CmpOp.NE && !nanJumps)) {
                throw new IllegalStateException("unreachable NaN combination");
            }
        }
        cb.branch(switch (op) {
            case EQ -> Opcode.IFEQ;
            case NE -> Opcode.IFNE;
            case LT -> Opcode.IFLT;
            case LE -> Opcode.IFLE;
            case GT -> Opcode.IFGT;
            default -> Opcode.IFGE;
        }, target);
    }

    private void expr(Expr e) {
        switch (e) {
            case Expr.Const c -> cb.loadConstant((java.lang.constant.ConstantDesc) c.value());
            case Expr.Local l -> {
                Variable v = l.variable();
                if (uniform.contains(v)) cb.loadLocal(kind(v.type()), slots.get(v));
                else cb.aload(slots.get(v)).iload(wi).arrayLoad(kind(v.type()));
            }
            case Expr.ArrayRef r -> {
                cb.aload(arraySlots.get(r.decl()));
                if (r.decl().space() == Type.Space.PRIVATE) cb.iload(wi).aaload();
            }
            case Expr.WorkItem w -> workItem(w);
            case Expr.Unary u when u.op() == Expr.UnOp.NEG -> {
                expr(u.operand());
                switch (kind(u.type())) {
                    case LONG -> cb.lneg();
                    case FLOAT -> cb.fneg();
                    case DOUBLE -> cb.dneg();
                    default -> cb.ineg();
                }
            }
            case Expr.Unary u -> bool(e);
            case Expr.Compare c -> bool(e);
            case Expr.Logic l -> bool(e);
            case Expr.Select s -> {
                Label otherwise = cb.newLabel(), end = cb.newLabel();
                cond(s.cond(), otherwise, false);
                expr(s.ifTrue());
                cb.goto_(end);
                cb.labelBinding(otherwise);
                expr(s.ifFalse());
                cb.labelBinding(end);
            }
            case Expr.Binary b -> binary(b);
            case Expr.Convert c -> {
                expr(c.operand());
                TypeKind from = kind(c.operand().type());
                TypeKind to = switch (c.to()) {
                    case BYTE -> TypeKind.BYTE;
                    case SHORT -> TypeKind.SHORT;
                    case CHAR -> TypeKind.CHAR;
                    default -> kind(c.to());
                };
                if (from != to) cb.conversion(from, to);
            }
            case Expr.Load l -> {
                Type.ArrayType at = (Type.ArrayType) l.array().type();
                expr(l.array());
                expr(l.index());
                if (at.space() == Type.Space.GLOBAL) {
                    cb.invokevirtual(desc(at), "get", MethodTypeDesc.of(primDesc(at.elem()), ConstantDescs.CD_int));
                } else {
                    cb.arrayLoad(elemKind(at.elem()));
                }
            }
            case Expr.Intrinsic i -> intrinsic(i);
            case Expr.Call c -> throw new IllegalStateException("call left after inlining");
        }
    }

    /** A condition as an int 0 or 1. */
    private void bool(Expr e) {
        Label no = cb.newLabel(), end = cb.newLabel();
        cond(e, no, false);
        cb.iconst_1().goto_(end);
        cb.labelBinding(no);
        cb.iconst_0();
        cb.labelBinding(end);
    }

    private void workItem(Expr.WorkItem w) {
        int d = w.dim();
        switch (w.what()) {
            case LOCAL_ID -> cb.iload(lid0 + d);
            case GROUP_ID -> cb.iload(GX + d);
            case LOCAL_SIZE -> cb.iload(LSX + d);
            case GLOBAL_SIZE -> cb.iload(LSX + d).iload(NGX + d).imul();
            case GLOBAL_ID -> cb.iload(GX + d).iload(LSX + d).imul().iload(lid0 + d).iadd();
        }
    }

    private void binary(Expr.Binary b) {
        expr(b.left());
        expr(b.right());
        TypeKind k = kind(b.type());
        Opcode op = switch (b.op()) {
            case ADD -> pick(k, Opcode.IADD, Opcode.LADD, Opcode.FADD, Opcode.DADD);
            case SUB -> pick(k, Opcode.ISUB, Opcode.LSUB, Opcode.FSUB, Opcode.DSUB);
            case MUL -> pick(k, Opcode.IMUL, Opcode.LMUL, Opcode.FMUL, Opcode.DMUL);
            case DIV -> pick(k, Opcode.IDIV, Opcode.LDIV, Opcode.FDIV, Opcode.DDIV);
            case REM -> pick(k, Opcode.IREM, Opcode.LREM, Opcode.FREM, Opcode.DREM);
            case AND -> pick(k, Opcode.IAND, Opcode.LAND, null, null);
            case OR -> pick(k, Opcode.IOR, Opcode.LOR, null, null);
            case XOR -> pick(k, Opcode.IXOR, Opcode.LXOR, null, null);
            case SHL -> pick(k, Opcode.ISHL, Opcode.LSHL, null, null);
            case SHR -> pick(k, Opcode.ISHR, Opcode.LSHR, null, null);
            case USHR -> pick(k, Opcode.IUSHR, Opcode.LUSHR, null, null);
        };
        cb.with(java.lang.classfile.instruction.OperatorInstruction.of(op));
    }

    private static Opcode pick(TypeKind k, Opcode i, Opcode l, Opcode f, Opcode d) {
        return switch (k) {
            case LONG -> l;
            case FLOAT -> f;
            case DOUBLE -> d;
            default -> i;
        };
    }

    private static final ClassDesc MATH = ClassDesc.of("java.lang.Math"), FLOAT = ClassDesc.of("java.lang.Float"),
            DOUBLE = ClassDesc.of("java.lang.Double"), INTEGER = ClassDesc.of("java.lang.Integer"), LONG = ClassDesc.of("java.lang.Long");

    /** The Java library call the intrinsic came from, so the results are Java's (float math through double, as written). */
    private void intrinsic(Expr.Intrinsic i) {
        Prim t = i.type();
        List<Expr> a = i.args();
        switch (i.op()) {
            case ABS, MIN, MAX, FMA -> {
                for (Expr x : a) expr(x);
                ClassDesc p = primDesc(t);
                ClassDesc[] ps = new ClassDesc[a.size()];
                java.util.Arrays.fill(ps, p);
                cb.invokestatic(MATH, i.op() == Expr.Intrinsic.Op.FMA ? "fma" : i.op().name().toLowerCase(), MethodTypeDesc.of(p, ps));
            }
            case F16_TO_F32 -> {
                expr(a.get(0));
                cb.i2s();
                cb.invokestatic(FLOAT, "float16ToFloat", MethodTypeDesc.of(ConstantDescs.CD_float, ConstantDescs.CD_short));
            }
            case F32_TO_F16 -> {
                expr(a.get(0));
                cb.invokestatic(FLOAT, "floatToFloat16", MethodTypeDesc.of(ConstantDescs.CD_short, ConstantDescs.CD_float));
            }
            case FLOAT_TO_RAW_INT_BITS -> call1(FLOAT, "floatToRawIntBits", a.get(0), ConstantDescs.CD_int, ConstantDescs.CD_float);
            case INT_BITS_TO_FLOAT -> call1(FLOAT, "intBitsToFloat", a.get(0), ConstantDescs.CD_float, ConstantDescs.CD_int);
            case DOUBLE_TO_RAW_LONG_BITS -> call1(DOUBLE, "doubleToRawLongBits", a.get(0), ConstantDescs.CD_long, ConstantDescs.CD_double);
            case LONG_BITS_TO_DOUBLE -> call1(DOUBLE, "longBitsToDouble", a.get(0), ConstantDescs.CD_double, ConstantDescs.CD_long);
            case IS_NAN -> {
                boolean f = a.get(0).type() == Prim.FLOAT;
                call1(f ? FLOAT : DOUBLE, "isNaN", a.get(0), ConstantDescs.CD_boolean, f ? ConstantDescs.CD_float : ConstantDescs.CD_double);
            }
            case CLZ, POPCOUNT -> {
                boolean l = a.get(0).type() == Prim.LONG;
                call1(l ? LONG : INTEGER, i.op() == Expr.Intrinsic.Op.CLZ ? "numberOfLeadingZeros" : "bitCount", a.get(0),
                        ConstantDescs.CD_int, l ? ConstantDescs.CD_long : ConstantDescs.CD_int);
            }
            case BYTES_GET_SHORT -> {
                expr(a.get(0));
                expr(a.get(1));
                cb.invokevirtual(ClassDesc.of(LANG + "ByteArray"), "getShort", MethodTypeDesc.of(ConstantDescs.CD_short, ConstantDescs.CD_int));
            }
            default -> {
                // Math.f on doubles; a FLOAT intrinsic came from (float) Math.f((double) x)
                for (Expr x : a) {
                    expr(x);
                    if (t == Prim.FLOAT) cb.f2d();
                }
                ClassDesc[] ps = new ClassDesc[a.size()];
                java.util.Arrays.fill(ps, ConstantDescs.CD_double);
                cb.invokestatic(MATH, mathName(i.op()), MethodTypeDesc.of(ConstantDescs.CD_double, ps));
                if (t == Prim.FLOAT) cb.d2f();
            }
        }
    }

    private void call1(ClassDesc owner, String name, Expr arg, ClassDesc ret, ClassDesc param) {
        expr(arg);
        cb.invokestatic(owner, name, MethodTypeDesc.of(ret, param));
    }

    private static final Map<Expr.Intrinsic.Op, String> MATH_NAMES = new HashMap<>();

    static {
        MATH_NAMES.put(Expr.Intrinsic.Op.COPYSIGN, "copySign");
    }

    private static String mathName(Expr.Intrinsic.Op op) {
        return MATH_NAMES.getOrDefault(op, op.name().toLowerCase());
    }
}
