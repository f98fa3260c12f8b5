package dev.owl2j.kernels.compiler.target;

import dev.owl2j.kernels.compiler.ir.ArrayDecl;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.IrWalk;
import dev.owl2j.kernels.compiler.ir.Module;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Names in emitted source: Java's where possible, made unique (functions per program, variables per function,
 * never equal to a function) and kept clear of the target's reserved words and of the {@code owl_} prefix the
 * targets use for their own helpers. Temporaries are t0, t1, ...
 */
final class Names {
    private Names() {}

    static void assign(Module m, Set<String> reserved) {
        Set<String> functions = new HashSet<>();
        for (Function f : m.functions()) {
            String n = unique(clean(f.javaMethod()), reserved, functions, Set.of());
            functions.add(n);
            f.rename(n);
        }
        for (Function f : m.functions()) {
            Set<String> taken = new HashSet<>();
            for (Variable v : f.params()) v.rename(take(v.name(), reserved, functions, taken));
            for (Variable v : f.sizeParams()) v.rename(take(v.name(), reserved, functions, taken));
            for (ArrayDecl d : f.arrays()) {
                String base = d.name().startsWith("$") ? (d.space() == dev.owl2j.kernels.compiler.ir.Type.Space.LOCAL ? "shared" : "priv") : d.name();
                d.rename(take(base, reserved, functions, taken));
            }
            Set<Variable> vars = new LinkedHashSet<>(IrWalk.variables(f.body()));
            vars.removeAll(f.params());
            vars.removeAll(f.sizeParams());
            for (Variable v : vars) if (v.kind() != Variable.Kind.TEMP) v.rename(take(v.name(), reserved, functions, taken));
            int t = 0;
            for (Variable v : vars) {
                if (v.kind() != Variable.Kind.TEMP) continue;
                String n;
                do {
                    n = "t" + t++;
                } while (taken.contains(n) || reserved.contains(n) || functions.contains(n));
                taken.add(n);
                v.rename(n);
            }
        }
    }

    private static String take(String name, Set<String> reserved, Set<String> functions, Set<String> taken) {
        String n = unique(clean(name), reserved, functions, taken);
        taken.add(n);
        return n;
    }

    private static String clean(String javaName) {
        String n = javaName.replace('$', '_');
        if (n.startsWith("owl_") || n.startsWith("__")) n = "k" + n;
        return n;
    }

    private static String unique(String base, Set<String> reserved, Set<String> a, Set<String> b) {
        String n = base;
        if (reserved.contains(n) || a.contains(n) || b.contains(n)) {
            n = base + "_";
            for (int i = 1; reserved.contains(n) || a.contains(n) || b.contains(n); i++) n = base + "_" + i;
        }
        return n;
    }
}
