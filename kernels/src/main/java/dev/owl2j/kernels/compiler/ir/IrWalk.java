package dev.owl2j.kernels.compiler.ir;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/** Traversals and bottom-up rewrites of IR trees, shared by the passes and the targets. */
public final class IrWalk {
    private IrWalk() {}

    /** Calls f on every statement, outer before inner. */
    public static void statements(List<Stmt> body, Consumer<Stmt> f) {
        for (Stmt s : body) {
            f.accept(s);
            switch (s) {
                case Stmt.If i -> {
                    statements(i.then(), f);
                    statements(i.otherwise(), f);
                }
                case Stmt.Loop l -> {
                    statements(l.body(), f);
                    statements(l.update(), f);
                }
                case Stmt.Block b -> statements(b.body(), f);
                default -> {
                }
            }
        }
    }

    /** The expressions a statement holds directly (not those of nested statements). */
    public static List<Expr> exprsOf(Stmt s) {
        return switch (s) {
            case Stmt.Assign a -> List.of(a.value());
            case Stmt.Store st -> List.of(st.array(), st.index(), st.value());
            case Stmt.Eval e -> List.of(e.expr());
            case Stmt.If i -> List.of(i.cond());
            case Stmt.Loop l -> l.cond() == null ? List.of() : List.of(l.cond());
            case Stmt.Return r -> r.value() == null ? List.of() : List.of(r.value());
            default -> List.of();
        };
    }

    /** Calls f on every expression and sub-expression of body, parents before children. */
    public static void expressions(List<Stmt> body, Consumer<Expr> f) {
        statements(body, s -> {
            for (Expr e : exprsOf(s)) expression(e, f);
        });
    }

    public static void expression(Expr e, Consumer<Expr> f) {
        f.accept(e);
        for (Expr c : children(e)) expression(c, f);
    }

    public static List<Expr> children(Expr e) {
        return switch (e) {
            case Expr.Unary u -> List.of(u.operand());
            case Expr.Binary b -> List.of(b.left(), b.right());
            case Expr.Compare c -> List.of(c.left(), c.right());
            case Expr.Logic l -> List.of(l.left(), l.right());
            case Expr.Select s -> List.of(s.cond(), s.ifTrue(), s.ifFalse());
            case Expr.Convert c -> List.of(c.operand());
            case Expr.Load l -> List.of(l.array(), l.index());
            case Expr.Intrinsic i -> i.args();
            case Expr.Call c -> c.args();
            default -> List.of();
        };
    }

    public static boolean containsExpr(Expr e, Predicate<Expr> p) {
        if (p.test(e)) return true;
        for (Expr c : children(e)) if (containsExpr(c, p)) return true;
        return false;
    }

    /** Rebuilds e bottom-up, applying f to every node after its children were rebuilt. */
    public static Expr rewrite(Expr e, UnaryOperator<Expr> f) {
        Expr r = switch (e) {
            case Expr.Unary u -> new Expr.Unary(u.op(), rewrite(u.operand(), f));
            case Expr.Binary b -> new Expr.Binary(b.op(), b.type(), rewrite(b.left(), f), rewrite(b.right(), f));
            case Expr.Compare c -> new Expr.Compare(c.op(), rewrite(c.left(), f), rewrite(c.right(), f));
            case Expr.Logic l -> new Expr.Logic(l.and(), rewrite(l.left(), f), rewrite(l.right(), f));
            case Expr.Select s -> new Expr.Select(rewrite(s.cond(), f), rewrite(s.ifTrue(), f), rewrite(s.ifFalse(), f));
            case Expr.Convert c -> new Expr.Convert(c.to(), rewrite(c.operand(), f));
            case Expr.Load l -> new Expr.Load(rewrite(l.array(), f), rewrite(l.index(), f));
            case Expr.Intrinsic i -> new Expr.Intrinsic(i.op(), i.type(), i.args().stream().map(a -> rewrite(a, f)).toList());
            case Expr.Call c -> new Expr.Call(c.function(), c.args().stream().map(a -> rewrite(a, f)).toList());
            default -> e;
        };
        return f.apply(r);
    }

    /** Rebuilds every expression of body (deeply) with {@link #rewrite}. */
    public static List<Stmt> rewriteExprs(List<Stmt> body, UnaryOperator<Expr> f) {
        List<Stmt> out = new ArrayList<>(body.size());
        for (Stmt s : body) {
            out.add(switch (s) {
                case Stmt.Assign a -> new Stmt.Assign(a.variable(), rewrite(a.value(), f));
                case Stmt.Store st -> new Stmt.Store(rewrite(st.array(), f), rewrite(st.index(), f), rewrite(st.value(), f));
                case Stmt.Eval ev -> new Stmt.Eval(rewrite(ev.expr(), f));
                case Stmt.If i -> new Stmt.If(rewrite(i.cond(), f), rewriteExprs(i.then(), f), rewriteExprs(i.otherwise(), f));
                case Stmt.Loop l -> new Stmt.Loop(l.label(), l.cond() == null ? null : rewrite(l.cond(), f),
                        rewriteExprs(l.body(), f), rewriteExprs(l.update(), f));
                case Stmt.Block b -> new Stmt.Block(b.label(), rewriteExprs(b.body(), f));
                case Stmt.Return r -> new Stmt.Return(r.value() == null ? null : rewrite(r.value(), f));
                default -> s;
            });
        }
        return out;
    }

    /** Whether any value, variable or array of the module has a type matching p. */
    public static boolean any(Module m, Predicate<Type> p) {
        for (Function f : m.functions()) {
            if (p.test(f.returnType())) return true;
            for (Variable v : f.params()) if (p.test(v.type())) return true;
            for (ArrayDecl a : f.arrays()) if (p.test(a.type())) return true;
            boolean[] hit = {false};
            expressions(f.body(), e -> {
                if (!hit[0] && p.test(e.type())) hit[0] = true;
            });
            statements(f.body(), s -> {
                if (s instanceof Stmt.Assign a && p.test(a.variable().type())) hit[0] = true;
            });
            if (hit[0]) return true;
        }
        return false;
    }

    /** Whether body (or a function it calls) contains a barrier. */
    public static boolean hasBarrier(List<Stmt> body) {
        boolean[] hit = {false};
        statements(body, s -> {
            if (s instanceof Stmt.Barrier) hit[0] = true;
        });
        if (hit[0]) return true;
        expressions(body, e -> {
            if (!hit[0] && e instanceof Expr.Call c && hasBarrier(c.function().body())) hit[0] = true;
        });
        return hit[0];
    }

    /** Every variable assigned or read in body. */
    public static java.util.Set<Variable> variables(List<Stmt> body) {
        java.util.Set<Variable> out = new java.util.LinkedHashSet<>();
        statements(body, s -> {
            if (s instanceof Stmt.Assign a) out.add(a.variable());
        });
        expressions(body, e -> {
            if (e instanceof Expr.Local l) out.add(l.variable());
        });
        return out;
    }
}
