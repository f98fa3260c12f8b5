package dev.owl2j.kernels.compiler.target;

import dev.owl2j.kernels.compiler.ir.Expr;

import java.util.Set;

/** Literals and word lists for the C-family targets. */
final class CLiterals {
    private CLiterals() {}

    /**
     * A constant as C source with the exact value: floats in Java's shortest round-tripping decimal (C parses it
     * to the same float), the minimum int written so that it is not a negated out-of-range literal, NaN and
     * infinities by name.
     */
    static String literal(Expr.Const c, String longSuffix, String doubleMacro, String doubleType, String nan, String inf) {
        return switch (c.value()) {
            case Integer i -> i == Integer.MIN_VALUE ? "(-2147483647 - 1)" : Integer.toString(i);
            case Long l -> l == Long.MIN_VALUE ? "(-9223372036854775807" + longSuffix + " - 1)" : l + longSuffix;
            case Float f -> {
                if (f.isNaN()) yield nan;
                if (f.isInfinite()) yield f > 0 ? inf : "(-" + inf + ")";
                yield Float.toString(f) + "f";
            }
            case Double d -> {
                if (d.isNaN()) yield "((" + doubleType + ") " + nan + ")";
                if (d.isInfinite()) yield "((" + doubleType + ") " + (d > 0 ? "" : "-") + inf + ")";
                String s = Double.toString(d);
                yield doubleMacro == null ? s : doubleMacro + "(" + s + ")";
            }
            default -> throw new IllegalStateException("constant " + c);
        };
    }

    static Set<String> words(String text) {
        return Set.of(text.trim().split("\\s+"));
    }
}
