package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.IrWalk;
import dev.owl2j.kernels.compiler.ir.Stmt;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the structurer's blocks-and-breaks into the if/else, while and for loops the Java source had, and folds
 * the temporaries the operand stack left behind (ternaries, && and ||) back into expressions. Every rewrite
 * keeps the meaning; what cannot be simplified stays as a labelled block with a break, which targets spell as
 * they can (C: goto).
 */
final class Simplifier {
    private Simplifier() {}

    static List<Stmt> simplify(List<Stmt> body, boolean voidFunction) {
        for (int round = 0; round < 12; round++) {
            List<Stmt> before = body;
            if (voidFunction) body = dropTail(body, new Stmt.Return(null));
            body = pass(body);
            body = retarget(body);
            body = flatten(body, countBreaks(body));
            body = inlineTemps(body);
            body = IrWalk.rewriteExprs(body, Simplifier::expr);
            if (body.equals(before)) break;
        }
        return body;
    }

    // ---- statement passes ----

    /** One bottom-up sweep of the local rewrites. */
    private static List<Stmt> pass(List<Stmt> body) {
        return mergeGuards(sweep(body));
    }

    /**
     * if (a) jump; if (b) jump;  ->  if (a || b) jump;  (the same jump, nothing in between: || keeps the order
     * and the short circuit), so that the guards of one condition javac split up become one if again.
     */
    private static List<Stmt> mergeGuards(List<Stmt> body) {
        List<Stmt> out = new ArrayList<>();
        for (Stmt s : body) {
            if (!out.isEmpty() && out.getLast() instanceof Stmt.If prev && s instanceof Stmt.If cur
                    && prev.otherwise().isEmpty() && cur.otherwise().isEmpty() && prev.then().size() == 1
                    && isJump(prev.then().getFirst()) && prev.then().equals(cur.then())) {
                out.set(out.size() - 1, new Stmt.If(new Expr.Logic(false, prev.cond(), cur.cond()), prev.then(), List.of()));
                continue;
            }
            out.add(s);
        }
        return out;
    }

    private static boolean isJump(Stmt s) {
        return s instanceof Stmt.Break || s instanceof Stmt.Continue || s instanceof Stmt.Return;
    }

    private static List<Stmt> sweep(List<Stmt> body) {
        List<Stmt> out = new ArrayList<>();
        for (Stmt s : body) {
            switch (s) {
                case Stmt.If i -> out.addAll(ifStmt(new Stmt.If(i.cond(), pass(i.then()), pass(i.otherwise()))));
                case Stmt.Block b -> {
                    List<Stmt> inner = sinkTail(pass(b.body()), new Stmt.Break(b.label()));
                    out.add(new Stmt.Block(b.label(), dropTail(inner, new Stmt.Break(b.label()))));
                }
                case Stmt.Loop l -> out.add(loop(new Stmt.Loop(l.label(), l.cond(),
                        dropTail(sinkTail(pass(l.body()), new Stmt.Continue(l.label())), new Stmt.Continue(l.label())), pass(l.update()))));
                default -> out.add(s);
            }
        }
        return out;
    }

    private static List<Stmt> ifStmt(Stmt.If i) {
        Expr c = i.cond();
        List<Stmt> t = i.then(), e = i.otherwise();
        if (t.isEmpty() && e.isEmpty() && !MethodTranslator.hasCall(c)) return List.of();
        if (t.isEmpty()) {
            t = e;
            e = List.of();
            c = not(c);
        }
        if (!e.isEmpty() && jumps(e) && (!jumps(t) || size(t) > size(e))) {
            List<Stmt> x = t;
            t = e;
            e = x;
            c = not(c);
        }
        // if (c1) { if (c2) { T } } -> if (c1 && c2) { T }
        if (e.isEmpty() && t.size() == 1 && t.get(0) instanceof Stmt.If in && in.otherwise().isEmpty()) {
            return List.of(new Stmt.If(new Expr.Logic(true, c, in.cond()), in.then(), List.of()));
        }
        // a ternary through a stack temporary: if (c) $t = a; else $t = b;  ->  $t = c ? a : b
        if (t.size() == 1 && e.size() == 1 && t.get(0) instanceof Stmt.Assign a && e.get(0) instanceof Stmt.Assign b
                && a.variable() == b.variable() && a.variable().kind() == Variable.Kind.TEMP) {
            return List.of(new Stmt.Assign(a.variable(), new Expr.Select(c, a.value(), b.value())));
        }
        List<Stmt> out = new ArrayList<>();
        if (!e.isEmpty() && jumps(t)) {
            out.add(new Stmt.If(c, t, List.of()));
            out.addAll(e);
            return out;
        }
        out.add(new Stmt.If(c, t, e));
        return out;
    }

    /** Loop conditions and for-loop updates. */
    private static Stmt loop(Stmt.Loop l) {
        List<Stmt> body = l.body();
        Expr cond = l.cond();
        List<Stmt> update = l.update();
        if (cond == null && update.isEmpty() && !body.isEmpty() && body.get(0) instanceof Stmt.If i && i.otherwise().isEmpty()
                && i.then().equals(List.of(new Stmt.Break(l.label()))) && !MethodTranslator.hasCall(i.cond())) {
            cond = not(i.cond());
            body = body.subList(1, body.size());
        }
        if (cond != null && update.isEmpty() && !hasContinue(body, l.label())) {
            Expr c = cond;
            int k = body.size();
            while (k > 0 && body.get(k - 1) instanceof Stmt.Assign a && reads(c, a.variable())) k--;
            if (k < body.size()) {
                List<Stmt> upd = body.subList(k, body.size());
                List<Stmt> rest = body.subList(0, k);
                // for (...; c; u) { ... continue ... } written by javac as a block the continue breaks out of
                if (!rest.isEmpty() && rest.getLast() instanceof Stmt.Block b) {
                    List<Stmt> inner = replaceBreak(b.body(), b.label(), new Stmt.Continue(l.label()));
                    List<Stmt> nb = new ArrayList<>(rest.subList(0, rest.size() - 1));
                    nb.addAll(inner);
                    rest = nb;
                }
                return new Stmt.Loop(l.label(), cond, List.copyOf(rest), List.copyOf(upd));
            }
        }
        return new Stmt.Loop(l.label(), cond, body, update);
    }

    private static boolean reads(Expr e, Variable v) {
        return IrWalk.containsExpr(e, x -> x instanceof Expr.Local loc && loc.variable() == v);
    }

    private static boolean hasContinue(List<Stmt> body, Stmt.Label l) {
        boolean[] hit = {false};
        IrWalk.statements(body, s -> {
            if (s instanceof Stmt.Continue c && c.target() == l) hit[0] = true;
        });
        return hit[0];
    }

    private static List<Stmt> replaceBreak(List<Stmt> body, Stmt.Label from, Stmt to) {
        List<Stmt> out = new ArrayList<>();
        for (Stmt s : body) {
            out.add(switch (s) {
                case Stmt.Break b when b.target() == from -> to;
                case Stmt.If i -> new Stmt.If(i.cond(), replaceBreak(i.then(), from, to), replaceBreak(i.otherwise(), from, to));
                case Stmt.Loop l -> new Stmt.Loop(l.label(), l.cond(), replaceBreak(l.body(), from, to), replaceBreak(l.update(), from, to));
                case Stmt.Block b -> new Stmt.Block(b.label(), replaceBreak(b.body(), from, to));
                default -> s;
            });
        }
        return out;
    }

    private static int size(List<Stmt> body) {
        int[] n = {0};
        IrWalk.statements(body, s -> n[0]++);
        return n[0];
    }

    /** Whether control never falls off the end of body. */
    static boolean jumps(List<Stmt> body) {
        if (body.isEmpty()) return false;
        return switch (body.getLast()) {
            case Stmt.Break b -> true;
            case Stmt.Continue c -> true;
            case Stmt.Return r -> true;
            case Stmt.If i -> jumps(i.then()) && jumps(i.otherwise());
            case Stmt.Block b -> jumps(b.body()) && !breaksTo(b.body(), b.label());
            case Stmt.Loop l -> l.cond() == null && !breaksTo(l.body(), l.label());
            default -> false;
        };
    }

    private static boolean breaksTo(List<Stmt> body, Stmt.Label l) {
        boolean[] hit = {false};
        IrWalk.statements(body, s -> {
            if (s instanceof Stmt.Break b && b.target() == l) hit[0] = true;
        });
        return hit[0];
    }

    /** Removes jump where it is the last thing executed in body (it would go where falling off goes). */
    private static List<Stmt> dropTail(List<Stmt> body, Stmt jump) {
        if (body.isEmpty()) return body;
        Stmt last = body.getLast();
        List<Stmt> out = new ArrayList<>(body.subList(0, body.size() - 1));
        switch (last) {
            case Stmt.If i -> out.add(new Stmt.If(i.cond(), dropTail(i.then(), jump), dropTail(i.otherwise(), jump)));
            case Stmt.Block b -> out.add(new Stmt.Block(b.label(), dropTail(b.body(), jump)));
            default -> {
                if (!last.equals(jump)) out.add(last);
            }
        }
        return out;
    }

    /**
     * [.., if (c) { T; jump }, R...] where the if's arm always leaves: R runs only when !c, so it moves into an
     * else arm, and the jump becomes a tail jump that dropTail removes.
     */
    private static List<Stmt> sink(List<Stmt> body, Stmt jump) {
        for (int i = body.size() - 2; i >= 0; i--) {
            if (body.get(i) instanceof Stmt.If s && s.otherwise().isEmpty() && jumps(s.then()) && endsWith(s.then(), jump)) {
                List<Stmt> out = new ArrayList<>(body.subList(0, i));
                out.add(new Stmt.If(s.cond(), s.then(), sink(List.copyOf(body.subList(i + 1, body.size())), jump)));
                return out;
            }
        }
        return body;
    }

    /** sink in body and in the lists that end it (the arms of a last if, the body of a last block): falling off them is falling off body. */
    private static List<Stmt> sinkTail(List<Stmt> body, Stmt jump) {
        List<Stmt> out = new ArrayList<>(sink(body, jump));
        if (out.isEmpty()) return out;
        Stmt last = out.getLast();
        if (last instanceof Stmt.If i) out.set(out.size() - 1, new Stmt.If(i.cond(), sinkTail(i.then(), jump), sinkTail(i.otherwise(), jump)));
        if (last instanceof Stmt.Block b) out.set(out.size() - 1, new Stmt.Block(b.label(), sinkTail(b.body(), jump)));
        return out;
    }

    private static boolean endsWith(List<Stmt> body, Stmt jump) {
        if (body.isEmpty()) return false;
        Stmt last = body.getLast();
        if (last.equals(jump)) return true;
        if (last instanceof Stmt.If i) return endsWith(i.then(), jump) || endsWith(i.otherwise(), jump);
        return false;
    }

    /**
     * A break out of block B taken from inside B's last statement, a loop or block, lands where leaving that
     * statement lands: retargeting it there turns block breaks into loop breaks and frees B to vanish.
     */
    private static List<Stmt> retarget(List<Stmt> body) {
        List<Stmt> out = new ArrayList<>();
        for (Stmt s : body) {
            out.add(switch (s) {
                case Stmt.Block b -> new Stmt.Block(b.label(), retargetTail(retarget(b.body()), b.label()));
                case Stmt.If i -> new Stmt.If(i.cond(), retarget(i.then()), retarget(i.otherwise()));
                case Stmt.Loop l -> new Stmt.Loop(l.label(), l.cond(), retarget(l.body()), retarget(l.update()));
                default -> s;
            });
        }
        return out;
    }

    /** In the statement that ends body (falling off it ends block b): breaks of b become breaks of that loop or block. */
    private static List<Stmt> retargetTail(List<Stmt> body, Stmt.Label b) {
        if (body.isEmpty()) return body;
        Stmt last = body.getLast();
        Stmt replaced = switch (last) {
            case Stmt.Loop l -> replaceBreak(List.of(l), b, new Stmt.Break(l.label())).getFirst();
            case Stmt.Block x -> replaceBreak(List.of(x), b, new Stmt.Break(x.label())).getFirst();
            case Stmt.If i -> new Stmt.If(i.cond(), retargetTail(i.then(), b), retargetTail(i.otherwise(), b));
            default -> last;
        };
        if (replaced == last) return body;
        List<Stmt> out = new ArrayList<>(body.subList(0, body.size() - 1));
        out.add(replaced);
        return out;
    }

    private static Map<Stmt.Label, Integer> countBreaks(List<Stmt> body) {
        Map<Stmt.Label, Integer> n = new IdentityHashMap<>();
        IrWalk.statements(body, s -> {
            if (s instanceof Stmt.Break b) n.merge(b.target(), 1, Integer::sum);
        });
        return n;
    }

    private static List<Stmt> flatten(List<Stmt> body, Map<Stmt.Label, Integer> breaks) {
        List<Stmt> out = new ArrayList<>();
        for (Stmt s : body) {
            switch (s) {
                case Stmt.Block b when !breaks.containsKey(b.label()) -> out.addAll(flatten(b.body(), breaks));
                case Stmt.Block b -> out.add(new Stmt.Block(b.label(), flatten(b.body(), breaks)));
                case Stmt.If i -> out.add(new Stmt.If(i.cond(), flatten(i.then(), breaks), flatten(i.otherwise(), breaks)));
                case Stmt.Loop l -> out.add(new Stmt.Loop(l.label(), l.cond(), flatten(l.body(), breaks), flatten(l.update(), breaks)));
                default -> out.add(s);
            }
        }
        return out;
    }

    // ---- temporaries ----

    /** A temporary assigned once and read once, by the next statement, is replaced by its value. */
    private static List<Stmt> inlineTemps(List<Stmt> body) {
        Map<Variable, Integer> assigns = new IdentityHashMap<>(), reads = new IdentityHashMap<>();
        IrWalk.statements(body, s -> {
            if (s instanceof Stmt.Assign a) assigns.merge(a.variable(), 1, Integer::sum);
        });
        IrWalk.expressions(body, e -> {
            if (e instanceof Expr.Local l) reads.merge(l.variable(), 1, Integer::sum);
        });
        return inlineIn(body, assigns, reads);
    }

    private static List<Stmt> inlineIn(List<Stmt> body, Map<Variable, Integer> assigns, Map<Variable, Integer> reads) {
        List<Stmt> out = new ArrayList<>();
        for (int i = 0; i < body.size(); i++) {
            Stmt s = switch (body.get(i)) {
                case Stmt.If x -> new Stmt.If(x.cond(), inlineIn(x.then(), assigns, reads), inlineIn(x.otherwise(), assigns, reads));
                case Stmt.Loop x -> new Stmt.Loop(x.label(), x.cond(), inlineIn(x.body(), assigns, reads), inlineIn(x.update(), assigns, reads));
                case Stmt.Block x -> new Stmt.Block(x.label(), inlineIn(x.body(), assigns, reads));
                default -> body.get(i);
            };
            if (s instanceof Stmt.Assign a && a.variable().kind() == Variable.Kind.TEMP && assigns.get(a.variable()) == 1
                    && reads.getOrDefault(a.variable(), 0) == 1 && i + 1 < body.size()) {
                Stmt next = body.get(i + 1);
                Stmt replaced = substitute(next, a.variable(), a.value());
                if (replaced != null) {
                    body = new ArrayList<>(body);
                    body.set(i + 1, replaced);
                    continue;
                }
            }
            out.add(s);
        }
        return out;
    }

    /** next with v replaced by value, or null when v is not read directly by next or moving value is unsafe. */
    private static Stmt substitute(Stmt next, Variable v, Expr value) {
        List<Expr> direct = IrWalk.exprsOf(next);
        if (next instanceof Stmt.Loop || direct.stream().noneMatch(e -> reads(e, v))) return null;
        boolean valueTouchesMemory = IrWalk.containsExpr(value, x -> x instanceof Expr.Call || x instanceof Expr.Load
                || x instanceof Expr.Intrinsic in && in.op() == Expr.Intrinsic.Op.BYTES_GET_SHORT);
        if (valueTouchesMemory) {
            boolean valueCalls = MethodTranslator.hasCall(value);
            for (Expr e : direct) {
                boolean other = IrWalk.containsExpr(e, x -> x instanceof Expr.Call
                        || (valueCalls && (x instanceof Expr.Load || x instanceof Expr.Intrinsic in && in.op() == Expr.Intrinsic.Op.BYTES_GET_SHORT)));
                if (other) return null;
            }
        }
        java.util.function.UnaryOperator<Expr> f = e -> e instanceof Expr.Local l && l.variable() == v ? value : e;
        return switch (next) {
            case Stmt.Assign a -> new Stmt.Assign(a.variable(), IrWalk.rewrite(a.value(), f));
            case Stmt.Store st -> new Stmt.Store(IrWalk.rewrite(st.array(), f), IrWalk.rewrite(st.index(), f), IrWalk.rewrite(st.value(), f));
            case Stmt.Eval ev -> new Stmt.Eval(IrWalk.rewrite(ev.expr(), f));
            case Stmt.If i -> new Stmt.If(IrWalk.rewrite(i.cond(), f), i.then(), i.otherwise());
            case Stmt.Return r -> new Stmt.Return(IrWalk.rewrite(r.value(), f));
            default -> null;
        };
    }

    // ---- expressions ----

    static Expr not(Expr e) {
        return expr(new Expr.Unary(Expr.UnOp.NOT, e));
    }

    private static boolean isInt(Expr e, int v) {
        return e instanceof Expr.Const c && c.value() instanceof Integer i && i == v;
    }

    private static boolean floating(Expr e) {
        return e.type() instanceof Type.Prim p && p.isFloating();
    }

    /** Local expression rewrites, applied bottom-up. */
    static Expr expr(Expr e) {
        switch (e) {
            case Expr.Unary u when u.op() == Expr.UnOp.NOT -> {
                Expr x = u.operand();
                if (x instanceof Expr.Unary n && n.op() == Expr.UnOp.NOT) return n.operand();
                if (x instanceof Expr.Compare c && (!floating(c.left()) || c.op() == Expr.CmpOp.EQ || c.op() == Expr.CmpOp.NE)) {
                    return new Expr.Compare(c.op().negate(), c.left(), c.right());
                }
                if (x instanceof Expr.Logic l) {
                    Expr a = not(l.left()), b = not(l.right());
                    if (!(a instanceof Expr.Unary) && !(b instanceof Expr.Unary)) return new Expr.Logic(!l.and(), a, b);
                }
                return e;
            }
            case Expr.Compare c when (c.op() == Expr.CmpOp.NE || c.op() == Expr.CmpOp.EQ) && isInt(c.right(), 0)
                    && c.left() instanceof Expr.Select s && s.cond().type() == Type.Prim.BOOL -> {
                // (cond ? 1 : 0) != 0  ->  cond   (Java booleans are ints)
                if (isInt(s.ifTrue(), 1) && isInt(s.ifFalse(), 0)) return c.op() == Expr.CmpOp.NE ? s.cond() : not(s.cond());
                if (isInt(s.ifTrue(), 0) && isInt(s.ifFalse(), 1)) return c.op() == Expr.CmpOp.NE ? not(s.cond()) : s.cond();
                return e;
            }
            case Expr.Select s when s.cond() instanceof Expr.Unary u && u.op() == Expr.UnOp.NOT ->
                    {
                return new Expr.Select(u.operand(), s.ifFalse(), s.ifTrue());
            }
            case Expr.Select s when s.cond().type() == Type.Prim.BOOL && isInt(s.ifTrue(), 1) && isInt(s.ifFalse(), 0)
                    && s.cond() instanceof Expr.Select inner && isInt(inner.ifTrue(), 1) && isInt(inner.ifFalse(), 0) -> {
                return inner;
            }
            default -> {
                return e;
            }
        }
    }
}
