package dev.owl2j.kernels.jvm;

import dev.owl2j.kernels.compiler.ir.ArrayDecl;
import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.IrWalk;
import dev.owl2j.kernels.compiler.ir.Stmt;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A kernel with every call replaced by the callee's body (fresh variables per call site, returns as breaks out of
 * a block), so that barriers inside helpers become barriers of the kernel. The compiler has already evaluated
 * memory reads and earlier calls before any call of an expression, so a call can move ahead of its statement.
 * A call inside a ?:, && or || arm would change when it runs; such a kernel is not inlined (returns null) and
 * runs on threads instead.
 */
final class Inliner {
    record Inlined(List<Stmt> body, List<ArrayDecl> arrays) {}

    private static final class NotInlinable extends RuntimeException {
        NotInlinable() {
            super(null, null, false, false);
        }
    }

    private final List<ArrayDecl> arrays = new ArrayList<>();
    private int labels;

    static Inlined inline(Function kernel) {
        Inliner in = new Inliner();
        in.arrays.addAll(kernel.arrays());
        try {
            return new Inlined(in.statements(kernel.body()), in.arrays);
        } catch (NotInlinable e) {
            return null;
        }
    }

    private List<Stmt> statements(List<Stmt> body) {
        List<Stmt> out = new ArrayList<>();
        for (Stmt s : body) {
            switch (s) {
                case Stmt.Assign a -> out.add(new Stmt.Assign(a.variable(), lift(a.value(), out)));
                case Stmt.Store st -> {
                    Expr arr = lift(st.array(), out), idx = lift(st.index(), out), v = lift(st.value(), out);
                    out.add(new Stmt.Store(arr, idx, v));
                }
                case Stmt.Eval e -> {
                    if (e.expr() instanceof Expr.Call c) {
                        List<Expr> args = new ArrayList<>();
                        for (Expr a : c.args()) args.add(lift(a, out));
                        call(c.function(), args, out);
                    } else {
                        lift(e.expr(), out); // only calls have effects
                    }
                }
                case Stmt.If i -> {
                    Expr c = lift(i.cond(), out);
                    out.add(new Stmt.If(c, statements(i.then()), statements(i.otherwise())));
                }
                case Stmt.Loop l -> {
                    if (l.cond() != null && hasCall(l.cond())) throw new NotInlinable();
                    out.add(new Stmt.Loop(l.label(), l.cond(), statements(l.body()), statements(l.update())));
                }
                case Stmt.Block b -> out.add(new Stmt.Block(b.label(), statements(b.body())));
                case Stmt.Return r -> out.add(new Stmt.Return(r.value() == null ? null : lift(r.value(), out)));
                default -> out.add(s);
            }
        }
        return out;
    }

    private static boolean hasCall(Expr e) {
        return IrWalk.containsExpr(e, x -> x instanceof Expr.Call);
    }

    /** e with its calls (inner first, left to right) run as statements appended to out; their results as variables. */
    private Expr lift(Expr e, List<Stmt> out) {
        if (!hasCall(e)) return e;
        return switch (e) {
            case Expr.Call c -> {
                List<Expr> args = new ArrayList<>();
                for (Expr a : c.args()) args.add(lift(a, out));
                yield call(c.function(), args, out);
            }
            case Expr.Select s -> {
                if (hasCall(s.ifTrue()) || hasCall(s.ifFalse())) throw new NotInlinable();
                yield new Expr.Select(lift(s.cond(), out), s.ifTrue(), s.ifFalse());
            }
            case Expr.Logic l -> {
                if (hasCall(l.right())) throw new NotInlinable();
                yield new Expr.Logic(l.and(), lift(l.left(), out), l.right());
            }
            case Expr.Unary u -> new Expr.Unary(u.op(), lift(u.operand(), out));
            case Expr.Binary b -> {
                Expr x = lift(b.left(), out);
                yield new Expr.Binary(b.op(), b.type(), x, lift(b.right(), out));
            }
            case Expr.Compare c -> {
                Expr x = lift(c.left(), out);
                yield new Expr.Compare(c.op(), x, lift(c.right(), out));
            }
            case Expr.Convert c -> new Expr.Convert(c.to(), lift(c.operand(), out));
            case Expr.Load l -> {
                Expr a = lift(l.array(), out);
                yield new Expr.Load(a, lift(l.index(), out));
            }
            case Expr.Intrinsic i -> {
                List<Expr> args = new ArrayList<>();
                for (Expr a : i.args()) args.add(lift(a, out));
                yield new Expr.Intrinsic(i.op(), i.type(), args);
            }
            default -> e;
        };
    }

    /** The callee's body at this call site; returns the variable holding its result (or null for void). */
    private Expr call(Function f, List<Expr> args, List<Stmt> out) {
        Map<Variable, Variable> vars = new IdentityHashMap<>();
        for (int i = 0; i < f.params().size(); i++) {
            Variable p = f.params().get(i);
            Variable q = fresh(p);
            vars.put(p, q);
            out.add(new Stmt.Assign(q, args.get(i)));
        }
        Map<ArrayDecl, ArrayDecl> decls = new IdentityHashMap<>();
        for (ArrayDecl d : f.arrays()) {
            ArrayDecl copy = new ArrayDecl(d.name() + "_" + labels, d.elem(), d.space(), d.length());
            decls.put(d, copy);
            arrays.add(copy);
        }
        Variable result = f.returnType() == Type.Prim.VOID ? null : new Variable("$ret" + labels, f.returnType(), Variable.Kind.TEMP);
        Stmt.Label end = new Stmt.Label("inline" + labels++);
        List<Stmt> body = rename(f.body(), vars, decls, result, end, new IdentityHashMap<>());
        out.add(new Stmt.Block(end, statements(body)));
        return result == null ? null : new Expr.Local(result);
    }

    private static Variable fresh(Variable v) {
        return new Variable(v.name(), v.type(), v.kind() == Variable.Kind.PARAM ? Variable.Kind.LOCAL : v.kind());
    }

    private static List<Stmt> rename(List<Stmt> body, Map<Variable, Variable> vars, Map<ArrayDecl, ArrayDecl> decls,
                                     Variable result, Stmt.Label end, Map<Stmt.Label, Stmt.Label> labels) {
        java.util.function.UnaryOperator<Expr> f = e -> switch (e) {
            case Expr.Local l -> new Expr.Local(vars.computeIfAbsent(l.variable(), Inliner::fresh));
            case Expr.ArrayRef r -> new Expr.ArrayRef(decls.getOrDefault(r.decl(), r.decl()));
            default -> e;
        };
        List<Stmt> out = new ArrayList<>();
        for (Stmt s : body) {
            switch (s) {
                case Stmt.Assign a -> out.add(new Stmt.Assign(vars.computeIfAbsent(a.variable(), Inliner::fresh), IrWalk.rewrite(a.value(), f)));
                case Stmt.Store st -> out.add(new Stmt.Store(IrWalk.rewrite(st.array(), f), IrWalk.rewrite(st.index(), f), IrWalk.rewrite(st.value(), f)));
                case Stmt.Eval e -> out.add(new Stmt.Eval(IrWalk.rewrite(e.expr(), f)));
                case Stmt.If i -> out.add(new Stmt.If(IrWalk.rewrite(i.cond(), f), rename(i.then(), vars, decls, result, end, labels),
                        rename(i.otherwise(), vars, decls, result, end, labels)));
                case Stmt.Loop l -> {
                    Stmt.Label nl = labels.computeIfAbsent(l.label(), x -> new Stmt.Label(x.name() + "i"));
                    out.add(new Stmt.Loop(nl, l.cond() == null ? null : IrWalk.rewrite(l.cond(), f),
                            rename(l.body(), vars, decls, result, end, labels), rename(l.update(), vars, decls, result, end, labels)));
                }
                case Stmt.Block b -> {
                    Stmt.Label nl = labels.computeIfAbsent(b.label(), x -> new Stmt.Label(x.name() + "i"));
                    out.add(new Stmt.Block(nl, rename(b.body(), vars, decls, result, end, labels)));
                }
                case Stmt.Break b -> out.add(new Stmt.Break(labels.computeIfAbsent(b.target(), x -> new Stmt.Label(x.name() + "i"))));
                case Stmt.Continue c -> out.add(new Stmt.Continue(labels.computeIfAbsent(c.target(), x -> new Stmt.Label(x.name() + "i"))));
                case Stmt.Return r -> {
                    if (r.value() != null) out.add(new Stmt.Assign(result, IrWalk.rewrite(r.value(), f)));
                    out.add(new Stmt.Break(end));
                }
                case Stmt.Barrier b -> out.add(b);
            }
        }
        return out;
    }
}
