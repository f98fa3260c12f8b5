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
 * Prints one function of a GLSL shader (a kernel's main body or a specialized helper): declarations, structured
 * statements with owl_jump for multi-level break/continue, expressions with Java's semantics, and array accesses
 * resolved to the buffer, shared or private array they reach (with an int selector where Java chooses the array
 * at run time). See GlslTarget for the why of each. One class of ~600 lines because statements, expressions and
 * array resolution share the function's state (indentation, enclosing constructs, jump ids, array selectors).
 */
final class GlslFunctionPrinter {
    /** What a function's printer asks of the shader it is part of. */
    interface Shader {
        /** The name of f printed for these array arguments (printing it first if new). */
        String specialize(Function f, List<GlslArray> arrayArgs);

        /** The GLSL name of a shared array (declared once per shader at global scope). */
        String shared(Function owner, ArrayDecl d);
    }

    private final Shader shader;
    private final Function f;
    private final Map<Variable, GlslArray> roots;
    private final Map<ArrayDecl, GlslArray> arrays = new IdentityHashMap<>();
    /** Array variables that may point at several arrays, and those arrays (indexed by owl_sel_NAME). */
    private final Map<Variable, List<GlslArray>> choices = new IdentityHashMap<>();
    private final Set<Variable> declared;
    private final StringBuilder out = new StringBuilder();
    private int indent = 1;
    /** Enclosing loops and blocks, innermost first. */
    private final ArrayDeque<Stmt> breakable = new ArrayDeque<>();
    /** Jumps (by id) that leave each construct; the label and whether it is a continue, per id. */
    private final Map<Stmt, Set<Integer>> escaping = new IdentityHashMap<>();
    private final Map<Integer, Stmt> jumpTarget = new HashMap<>();
    private final Map<Integer, Boolean> jumpContinues = new HashMap<>();
    private final Map<String, Integer> jumpIds = new HashMap<>();
    private final Map<Stmt.Label, Stmt> constructs = new IdentityHashMap<>();

    GlslFunctionPrinter(Shader shader, Function f, Map<Variable, GlslArray> roots, Set<Variable> declared) {
        this.shader = shader;
        this.f = f;
        this.roots = roots;
        this.declared = declared;
    }

    String body() {
        for (ArrayDecl d : f.arrays()) {
            if (d.space() == Type.Space.LOCAL) {
                arrays.put(d, new GlslArray(shader.shared(f, d), Type.Space.LOCAL, d.elem(), d.length()));
            } else {
                arrays.put(d, new GlslArray(d.name(), Type.Space.PRIVATE, d.elem(), d.length()));
                line(GlslSpelling.element(d.elem()) + " " + d.name() + "[" + d.length() + "];");
            }
        }
        resolvePointerLocals();
        Set<Variable> locals = new LinkedHashSet<>(IrWalk.variables(f.body()));
        locals.removeAll(f.params());
        locals.removeAll(f.sizeParams());
        for (Variable v : locals) {
            if (declared.contains(v) || v.type() instanceof Type.ArrayType) continue;
            line(GlslSpelling.scalar((Prim) v.type()) + " " + v.name() + ";");
        }
        findJumps(f.body(), new ArrayDeque<>());
        if (!jumpTarget.isEmpty()) line("int owl_jump = 0;");
        statements(f.body());
        return out.toString();
    }

    /**
     * Array-typed Java locals. GLSL has no pointers: a variable that only ever points at one array is that
     * array; one that may point at several (the MAM kernels' {@code cond ? w1 : w0}) becomes an int
     * selector {@code owl_sel_NAME}, set where Java assigns the variable, and every use of it chooses
     * among the arrays by that selector.
     */
    private void resolvePointerLocals() {
        Map<Variable, LinkedHashSet<GlslArray>> possible = new IdentityHashMap<>();
        List<Stmt.Assign> assigns = new ArrayList<>();
        IrWalk.statements(f.body(), s -> {
            if (s instanceof Stmt.Assign a && a.variable().type() instanceof Type.ArrayType) assigns.add(a);
        });
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Stmt.Assign a : assigns) {
                changed |= possible.computeIfAbsent(a.variable(), v -> new LinkedHashSet<>()).addAll(rootsOf(a.value(), possible));
            }
        }
        for (Map.Entry<Variable, LinkedHashSet<GlslArray>> e : possible.entrySet()) {
            if (e.getValue().size() == 1) {
                roots.put(e.getKey(), e.getValue().iterator().next());
            } else if (e.getValue().size() > 1) {
                choices.put(e.getKey(), List.copyOf(e.getValue()));
                line("int owl_sel_" + e.getKey().name() + " = 0;");
            }
        }
    }

    private Set<GlslArray> rootsOf(Expr e, Map<Variable, LinkedHashSet<GlslArray>> possible) {
        return switch (e) {
            case Expr.Local l when roots.containsKey(l.variable()) -> Set.of(roots.get(l.variable()));
            case Expr.Local l -> possible.getOrDefault(l.variable(), new LinkedHashSet<>());
            case Expr.ArrayRef r -> Set.of(root(r));
            case Expr.Select sel -> {
                Set<GlslArray> both = new LinkedHashSet<>(rootsOf(sel.ifTrue(), possible));
                both.addAll(rootsOf(sel.ifFalse(), possible));
                yield both;
            }
            default -> throw refuse("an array computed by " + e.getClass().getSimpleName());
        };
    }

    /** The index (into list) of the array e points at, as GLSL int text. */
    private String selector(Expr e, List<GlslArray> list) {
        return switch (e) {
            case Expr.Select sel -> "(" + cond(sel.cond()) + " ? " + selector(sel.ifTrue(), list) + " : " + selector(sel.ifFalse(), list) + ")";
            case Expr.Local l when choices.containsKey(l.variable()) -> {
                List<GlslArray> from = choices.get(l.variable());
                if (from.equals(list)) yield "owl_sel_" + l.variable().name();
                yield choose(e, r -> Integer.toString(list.indexOf(r)));
            }
            default -> Integer.toString(list.indexOf(root(e)));
        };
    }

    /** f applied to the array e points at: a ternary over the arrays it may point at when that is chosen at run time. */
    private String choose(Expr e, java.util.function.Function<GlslArray, String> f) {
        if (e instanceof Expr.Select sel) {
            return "(" + cond(sel.cond()) + " ? " + choose(sel.ifTrue(), f) + " : " + choose(sel.ifFalse(), f) + ")";
        }
        if (e instanceof Expr.Local l && choices.containsKey(l.variable())) {
            List<GlslArray> list = choices.get(l.variable());
            String text = f.apply(list.getLast());
            for (int k = list.size() - 2; k >= 0; k--) {
                text = "(owl_sel_" + l.variable().name() + " == " + k + " ? " + f.apply(list.get(k)) + " : " + text + ")";
            }
            return text;
        }
        return f.apply(root(e));
    }

    /** The statements emit(root) for the array e points at, under if/else where that is chosen at run time. */
    private void chooseStatements(Expr e, java.util.function.Consumer<GlslArray> emit) {
        if (e instanceof Expr.Select sel) {
            line("if (" + cond(sel.cond()) + ") {");
            indent++;
            chooseStatements(sel.ifTrue(), emit);
            indent--;
            line("} else {");
            indent++;
            chooseStatements(sel.ifFalse(), emit);
            indent--;
            line("}");
        } else if (e instanceof Expr.Local l && choices.containsKey(l.variable())) {
            List<GlslArray> list = choices.get(l.variable());
            for (int k = 0; k < list.size(); k++) {
                line(k == 0 ? "if (owl_sel_" + l.variable().name() + " == 0) {"
                        : k < list.size() - 1 ? "} else if (owl_sel_" + l.variable().name() + " == " + k + ") {" : "} else {");
                indent++;
                emit.accept(list.get(k));
                indent--;
            }
            line("}");
        } else {
            emit.accept(root(e));
        }
    }

    private KernelCompileException refuse(String what) {
        return new KernelCompileException(f.javaClass() + "." + f.javaMethod() + ": " + what + "; not supported by the Vulkan target");
    }

    private GlslArray root(Expr e) {
        return switch (e) {
            case Expr.Local l when choices.containsKey(l.variable()) -> throw new IllegalStateException("array chosen at run time used directly");
            case Expr.Local l -> {
                GlslArray r = roots.get(l.variable());
                if (r == null) throw refuse("array " + l.variable().name() + " is used before it is assigned");
                yield r;
            }
            case Expr.ArrayRef r -> {
                GlslArray a = arrays.get(r.decl());
                if (a == null) throw refuse("array " + r.decl().name() + " of another function");
                yield a;
            }
            default -> throw refuse("an array computed by " + e.getClass().getSimpleName());
        };
    }

    private void line(String s) {
        out.append("    ".repeat(indent)).append(s).append('\n');
    }

    // ---- breaks and continues out of more than the innermost construct ----

    private void findJumps(List<Stmt> body, ArrayDeque<Stmt> enclosing) {
        for (Stmt s : body) {
            switch (s) {
                case Stmt.Break b -> jump(b.target(), false, enclosing);
                case Stmt.Continue c -> jump(c.target(), true, enclosing);
                case Stmt.If i -> {
                    findJumps(i.then(), enclosing);
                    findJumps(i.otherwise(), enclosing);
                }
                case Stmt.Loop l -> {
                    constructs.put(l.label(), l);
                    enclosing.push(l);
                    findJumps(l.body(), enclosing);
                    enclosing.pop();
                }
                case Stmt.Block b -> {
                    constructs.put(b.label(), b);
                    enclosing.push(b);
                    findJumps(b.body(), enclosing);
                    enclosing.pop();
                }
                default -> {
                }
            }
        }
    }

    private static Stmt.Label labelOf(Stmt s) {
        return s instanceof Stmt.Loop l ? l.label() : ((Stmt.Block) s).label();
    }

    private void jump(Stmt.Label target, boolean isContinue, ArrayDeque<Stmt> enclosing) {
        if (!enclosing.isEmpty() && labelOf(enclosing.peek()) == target) return; // plain break / continue
        String key = System.identityHashCode(target) + (isContinue ? "c" : "b");
        int id = jumpIds.computeIfAbsent(key, k -> jumpIds.size() + 1);
        for (Stmt s : enclosing) {
            if (labelOf(s) == target) {
                jumpTarget.put(id, s);
                jumpContinues.put(id, isContinue);
                return;
            }
            escaping.computeIfAbsent(s, k -> new LinkedHashSet<>()).add(id);
        }
        throw refuse("a jump to a construct that does not enclose it");
    }

    private int jumpId(Stmt.Label target, boolean isContinue) {
        return jumpIds.get(System.identityHashCode(target) + (isContinue ? "c" : "b"));
    }

    /** After construct c closes: take the jumps that target the construct now innermost, pass on the rest. */
    private void dispatch(Stmt c) {
        Set<Integer> ids = escaping.get(c);
        if (ids == null) return;
        boolean passOn = false;
        for (int id : ids) {
            Stmt t = jumpTarget.get(id);
            if (t == breakable.peek()) {
                boolean cont = jumpContinues.get(id);
                line("if (owl_jump == " + id + ") { owl_jump = 0; " + (cont ? updates((Stmt.Loop) t) + "continue; }" : "break; }"));
            } else {
                passOn = true;
            }
        }
        if (passOn) line("if (owl_jump != 0) break;");
    }

    // ---- statements ----

    private void statements(List<Stmt> body) {
        for (Stmt s : body) statement(s);
    }

    private void statement(Stmt s) {
        switch (s) {
            case Stmt.Assign a -> {
                if (a.variable().type() instanceof Type.ArrayType) {
                    // which array it now points at, where that is chosen at run time; else resolved statically
                    List<GlslArray> list = choices.get(a.variable());
                    if (list != null) line("owl_sel_" + a.variable().name() + " = " + selector(a.value(), list) + ";");
                    return;
                }
                line(a.variable().name() + " = " + value(a.value()) + ";");
            }
            case Stmt.Store st -> store(st);
            case Stmt.Eval e -> {
                if (e.expr() instanceof Expr.Call c && c.function().returnType() == Prim.VOID) callStatement(c, 0, new ArrayList<>(), new ArrayList<>());
                else line(value(e.expr()) + ";");
            }
            case Stmt.Barrier b -> line(b.global() ? "memoryBarrierBuffer(); memoryBarrierShared(); barrier();" : "memoryBarrierShared(); barrier();");
            case Stmt.Return r -> line(r.value() == null ? "return;" : "return " + value(r.value()) + ";");
            case Stmt.Break b -> {
                if (!breakable.isEmpty() && labelOf(breakable.peek()) == b.target()) line("break;");
                else line("owl_jump = " + jumpId(b.target(), false) + "; break;");
            }
            case Stmt.Continue c -> {
                if (!breakable.isEmpty() && labelOf(breakable.peek()) == c.target()) {
                    line(updates((Stmt.Loop) breakable.peek()) + "continue;");
                } else {
                    line("owl_jump = " + jumpId(c.target(), true) + "; break;");
                }
            }
            case Stmt.If i -> {
                line("if (" + cond(i.cond()) + ") {");
                nested(i.then());
                if (!i.otherwise().isEmpty()) {
                    line("} else {");
                    nested(i.otherwise());
                }
                line("}");
            }
            case Stmt.Loop l -> {
                String head = l.cond() == null ? "" : cond(l.cond());
                line(l.update().isEmpty() ? (l.cond() == null ? "for (;;) {" : "while (" + head + ") {") : "for (; " + head + "; ) {");
                breakable.push(l);
                nested(l.body());
                if (!l.update().isEmpty()) {
                    indent++;
                    line(updates(l).trim());
                    indent--;
                }
                breakable.pop();
                line("}");
                dispatch(l);
            }
            case Stmt.Block b -> {
                line("do {");
                breakable.push(b);
                nested(b.body());
                breakable.pop();
                line("} while (false);");
                dispatch(b);
            }
        }
    }

    private void nested(List<Stmt> body) {
        indent++;
        statements(body);
        indent--;
    }

    /** A loop's update statements as one line of text (run at the end of the body and before a continue). */
    private String updates(Stmt.Loop l) {
        if (l.update().isEmpty()) return "";
        StringBuilder saved = new StringBuilder(out);
        int mark = out.length();
        int savedIndent = indent;
        indent = 0;
        for (Stmt u : l.update()) statement(u);
        String text = out.substring(mark).replace('\n', ' ');
        out.setLength(0);
        out.append(saved);
        indent = savedIndent;
        return text;
    }

    private void store(Stmt.Store st) {
        String i = value(st.index());
        String v = value(st.value());
        chooseStatements(st.array(), r -> storeTo(r, i, v));
    }

    private void storeTo(GlslArray r, String i, String v) {
        if (r.space() == Type.Space.GLOBAL) {
            switch (r.elem()) {
                case BYTE, BOOL -> {
                    line("OWL_ST8(" + r.name() + ", " + i + ", " + v + ")");
                    return;
                }
                case SHORT -> {
                    line("OWL_ST16(" + r.name() + ", " + i + ", " + v + ");");
                    return;
                }
                case CHAR -> {
                    line("OWL_ST16U(" + r.name() + ", " + i + ", " + v + ");");
                    return;
                }
                default -> {
                }
            }
        }
        // shared and private arrays of small types hold ints narrowed as Java's bastore/sastore/castore do
        String narrowed = switch (r.elem()) {
            case BYTE -> "bitfieldExtract(" + v + ", 0, 8)";
            case SHORT -> "bitfieldExtract(" + v + ", 0, 16)";
            case CHAR -> "(" + v + " & 0xffff)";
            case BOOL -> "(" + v + " & 1)";
            default -> v;
        };
        line(r.name() + "[" + i + "] = " + narrowed + ";");
    }

    // ---- expressions: value(e) is e's value (BOOL as int), cond(e) is e as a GLSL bool ----

    private String cond(Expr e) {
        return switch (e) {
            case Expr.Compare c -> "(" + value(c.left()) + " " + GlslSpelling.cmp(c.op()) + " " + value(c.right()) + ")";
            case Expr.Logic l -> "(" + cond(l.left()) + (l.and() ? " && " : " || ") + cond(l.right()) + ")";
            case Expr.Unary u when u.op() == Expr.UnOp.NOT -> "!" + cond(u.operand());
            case Expr.Const c when c.type() == Prim.BOOL || c.type() == Prim.INT -> ((Number) c.value()).intValue() != 0 ? "true" : "false";
            case Expr.Intrinsic i when i.op() == Expr.Intrinsic.Op.IS_NAN -> "isnan(" + value(i.args().get(0)) + ")";
            default -> "(" + value(e) + " != 0)";
        };
    }

    private String value(Expr e) {
        return switch (e) {
            case Expr.Const c -> GlslSpelling.literal(c);
            case Expr.Local l -> {
                if (l.variable().type() instanceof Type.ArrayType) throw refuse("an array used as a value");
                yield l.variable().name();
            }
            case Expr.ArrayRef r -> throw refuse("an array used as a value");
            case Expr.WorkItem w -> GlslSpelling.workItem(w.what(), w.dim());
            case Expr.Unary u -> u.op() == Expr.UnOp.NOT ? "int(!" + cond(u.operand()) + ")" : "(-" + value(u.operand()) + ")";
            case Expr.Binary b -> binary(b);
            case Expr.Compare c -> "int" + cond(c);
            case Expr.Logic l -> "int" + cond(l);
            case Expr.Select s -> "(" + cond(s.cond()) + " ? " + value(s.ifTrue()) + " : " + value(s.ifFalse()) + ")";
            case Expr.Convert c -> GlslSpelling.convert((Prim) c.operand().type(), c.to(), value(c.operand()));
            case Expr.Load l -> load(l.array(), l.index());
            case Expr.Intrinsic i -> intrinsic(i);
            case Expr.Call c -> call(c);
        };
    }

    private String load(Expr array, Expr index) {
        String i = value(index);
        return choose(array, r -> loadFrom(r, i));
    }

    private String loadFrom(GlslArray r, String i) {
        if (r.space() == Type.Space.GLOBAL) {
            switch (r.elem()) {
                case BYTE -> {
                    return "OWL_LD8(" + r.name() + ", " + i + ")";
                }
                case BOOL -> {
                    return "OWL_LD8U(" + r.name() + ", " + i + ")";
                }
                case SHORT -> {
                    return "OWL_LD16(" + r.name() + ", " + i + ")";
                }
                case CHAR -> {
                    return "OWL_LD16U(" + r.name() + ", " + i + ")";
                }
                default -> {
                }
            }
        }
        return r.name() + "[" + i + "]";
    }

    private String call(Expr.Call c) {
        return callFrom(c, 0, new ArrayList<>(), new ArrayList<>());
    }

    private boolean isArrayArg(Expr.Call c, int k) {
        List<Variable> ps = c.function().params();
        return k < ps.size() ? ps.get(k).type() instanceof Type.ArrayType : c.args().get(k).type() instanceof Type.ArrayType;
    }

    /** The call from argument k on, the arrays of earlier arguments chosen; a ternary per array chosen at run time. */
    private String callFrom(Expr.Call c, int k, List<GlslArray> arrayArgs, List<String> args) {
        for (; k < c.args().size(); k++) {
            Expr a = c.args().get(k);
            if (isArrayArg(c, k)) {
                int next = k + 1;
                return choose(a, r -> {
                    List<GlslArray> ra = new ArrayList<>(arrayArgs);
                    List<String> as = new ArrayList<>(args);
                    ra.add(r);
                    if (r.space() == Type.Space.PRIVATE) as.add(r.name());
                    return callFrom(c, next, ra, as);
                });
            }
            args.add(value(a));
        }
        return shader.specialize(c.function(), arrayArgs) + "(" + String.join(", ", args) + ")";
    }

    /** A void call as a statement: if/else per array chosen at run time (GLSL has no void ternaries). */
    private void callStatement(Expr.Call c, int k, List<GlslArray> arrayArgs, List<String> args) {
        for (; k < c.args().size(); k++) {
            Expr a = c.args().get(k);
            if (isArrayArg(c, k)) {
                int next = k + 1;
                chooseStatements(a, r -> {
                    List<GlslArray> ra = new ArrayList<>(arrayArgs);
                    List<String> as = new ArrayList<>(args);
                    ra.add(r);
                    if (r.space() == Type.Space.PRIVATE) as.add(r.name());
                    callStatement(c, next, ra, as);
                });
                return;
            }
            args.add(value(a));
        }
        line(shader.specialize(c.function(), arrayArgs) + "(" + String.join(", ", args) + ");");
    }

    private String binary(Expr.Binary b) {
        String l = value(b.left());
        Prim t = b.type();
        if (b.op() == Expr.BinOp.SHL || b.op() == Expr.BinOp.SHR || b.op() == Expr.BinOp.USHR) {
            int mask = t == Prim.LONG ? 63 : 31;
            String s = b.right() instanceof Expr.Const c ? Integer.toString(((Number) c.value()).intValue() & mask)
                    : "(" + value(b.right()) + " & " + mask + ")";
            return switch (b.op()) {
                case SHL -> "(" + l + " << " + s + ")";
                case SHR -> "(" + l + " >> " + s + ")";
                default -> t == Prim.LONG ? "int64_t(uint64_t(" + l + ") >> " + s + ")" : "int(uint(" + l + ") >> " + s + ")";
            };
        }
        String r = value(b.right());
        return switch (b.op()) {
            case ADD -> "(" + l + " + " + r + ")";
            case SUB -> "(" + l + " - " + r + ")";
            case MUL -> "(" + l + " * " + r + ")";
            case DIV -> "(" + l + " / " + r + ")";
            case REM -> t.isFloating() ? "owl_frem(" + l + ", " + r + ")" : t == Prim.LONG ? "owl_lrem(" + l + ", " + r + ")" : "owl_irem(" + l + ", " + r + ")";
            case AND -> "(" + l + " & " + r + ")";
            case OR -> "(" + l + " | " + r + ")";
            case XOR -> b.right() instanceof Expr.Const c && ((Number) c.value()).longValue() == -1 ? "(~" + l + ")" : "(" + l + " ^ " + r + ")";
            default -> throw new IllegalStateException(b.op().toString());
        };
    }

    private String intrinsic(Expr.Intrinsic i) {
        Prim t = i.type();
        List<String> a = new ArrayList<>();
        for (Expr x : i.args()) if (!(x.type() instanceof Type.ArrayType)) a.add(value(x));
        // GLSL has no double-precision transcendental functions: those run in float and widen back.
        boolean viaFloat = t == Prim.DOUBLE;
        String fa = viaFloat && !a.isEmpty() ? "float(" + a.get(0) + ")" : a.isEmpty() ? "" : a.get(0);
        String fb = a.size() > 1 ? (viaFloat ? "float(" + a.get(1) + ")" : a.get(1)) : "";
        String r = switch (i.op()) {
            case EXP -> viaFloat ? "owl_dexp(" + a.get(0) + ")" : "exp(" + fa + ")";
            case LOG -> viaFloat ? "owl_dlog(" + a.get(0) + ")" : "log(" + fa + ")";
            case LOG10 -> "(log2(" + fa + ") * 0.30102999566398120)";
            case POW -> "pow(" + fa + ", " + fb + ")";
            case TANH -> "tanh(" + fa + ")";
            case SIN -> "sin(" + fa + ")";
            case COS -> "cos(" + fa + ")";
            case TAN -> "tan(" + fa + ")";
            case ASIN -> "asin(" + fa + ")";
            case ACOS -> "acos(" + fa + ")";
            case ATAN -> "atan(" + fa + ")";
            case ATAN2 -> "atan(" + fa + ", " + fb + ")";
            case SINH -> "sinh(" + fa + ")";
            case COSH -> "cosh(" + fa + ")";
            case EXPM1 -> "(exp(" + fa + ") - 1.0)";
            case LOG1P -> "log(1.0 + " + fa + ")";
            case CBRT -> "(sign(" + fa + ") * pow(abs(" + fa + "), 1.0 / 3.0))";
            case HYPOT -> "length(vec2(" + fa + ", " + fb + "))";
            case COPYSIGN -> "owl_copysign(" + fa + ", " + fb + ")";
            default -> null;
        };
        if (r != null) return viaFloat && !r.startsWith("owl_d") ? "owl_double(" + r + ")" : r;
        return switch (i.op()) {
            case SQRT -> "sqrt(" + a.get(0) + ")";
            case FLOOR -> "floor(" + a.get(0) + ")";
            case CEIL -> "ceil(" + a.get(0) + ")";
            case RINT -> "roundEven(" + a.get(0) + ")";
            case FMA -> "fma(" + a.get(0) + ", " + a.get(1) + ", " + a.get(2) + ")";
            case ABS -> "abs(" + a.get(0) + ")";
            case MIN -> "min(" + a.get(0) + ", " + a.get(1) + ")";
            case MAX -> "max(" + a.get(0) + ", " + a.get(1) + ")";
            case F16_TO_F32 -> "unpackHalf2x16(uint(" + a.get(0) + ") & 0xffffu).x";
            case F32_TO_F16 -> "bitfieldExtract(int(packHalf2x16(vec2(" + a.get(0) + ", 0.0))), 0, 16)";
            case FLOAT_TO_RAW_INT_BITS -> "floatBitsToInt(" + a.get(0) + ")";
            case INT_BITS_TO_FLOAT -> "intBitsToFloat(" + a.get(0) + ")";
            case IS_NAN -> "int(isnan(" + a.get(0) + "))";
            case CLZ -> "owl_clz(" + a.get(0) + ")";
            case POPCOUNT -> t == Prim.LONG || i.args().get(0).type() == Prim.LONG
                    ? "(bitCount(uint(" + a.get(0) + ")) + bitCount(uint(" + a.get(0) + " >> 32)))" : "bitCount(" + a.get(0) + ")";
            case BYTES_GET_SHORT -> {
                String off = value(i.args().get(1));
                yield choose(i.args().get(0), r0 -> {
                    if (r0.space() != Type.Space.GLOBAL) throw refuse("getShort of a shared or private byte array");
                    return "OWL_GETSHORT(" + r0.name() + ", " + off + ")";
                });
            }
            case DOUBLE_TO_RAW_LONG_BITS -> "owl_double_to_raw_long_bits(" + a.get(0) + ")";
            case LONG_BITS_TO_DOUBLE -> "owl_long_bits_to_double(" + a.get(0) + ")";
            default -> throw new IllegalStateException(i.op().toString());
        };
    }
}
