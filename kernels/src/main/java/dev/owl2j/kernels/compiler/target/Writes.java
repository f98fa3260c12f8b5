package dev.owl2j.kernels.compiler.target;

import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.IrWalk;
import dev.owl2j.kernels.compiler.ir.Module;
import dev.owl2j.kernels.compiler.ir.Stmt;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which pointer variables and parameters something writes through (directly, or by handing them to a variable or a
 * callee parameter that is written through). The others are declared const, as hand-written kernels would be.
 */
final class Writes {
    private Writes() {}

    static Set<Variable> writable(Module m) {
        Set<Variable> w = Collections.newSetFromMap(new IdentityHashMap<>());
        Map<Variable, List<Variable>> flowsTo = new IdentityHashMap<>(); // v written => these written
        for (Function f : m.functions()) {
            IrWalk.statements(f.body(), s -> {
                if (s instanceof Stmt.Store st) w.addAll(roots(st.array()));
                if (s instanceof Stmt.Assign a && a.variable().type() instanceof Type.ArrayType) {
                    flowsTo.computeIfAbsent(a.variable(), k -> new ArrayList<>()).addAll(roots(a.value()));
                }
            });
            IrWalk.expressions(f.body(), e -> {
                if (e instanceof Expr.Call c) {
                    for (int i = 0; i < c.args().size(); i++) {
                        if (c.args().get(i).type() instanceof Type.ArrayType) {
                            flowsTo.computeIfAbsent(c.function().params().get(i), k -> new ArrayList<>()).addAll(roots(c.args().get(i)));
                        }
                    }
                }
            });
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (var e : flowsTo.entrySet()) {
                if (w.contains(e.getKey())) {
                    for (Variable v : e.getValue()) changed |= w.add(v);
                }
            }
        }
        return w;
    }

    /** The variables a pointer expression may be (a variable, or either arm of a select). */
    private static List<Variable> roots(Expr e) {
        List<Variable> out = new ArrayList<>();
        switch (e) {
            case Expr.Local l -> out.add(l.variable());
            case Expr.Select s -> {
                out.addAll(roots(s.ifTrue()));
                out.addAll(roots(s.ifFalse()));
            }
            default -> {
            }
        }
        return out;
    }
}
