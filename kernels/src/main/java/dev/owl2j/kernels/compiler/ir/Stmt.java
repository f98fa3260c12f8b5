package dev.owl2j.kernels.compiler.ir;

import java.util.List;

/**
 * IR statements: structured control flow only. {@link Loop} runs its body until a {@link Break} leaves it (or its
 * condition, checked before every iteration, is false); {@link Continue} runs the loop's update statements and
 * starts the next iteration (C's for-loop). {@link Block} exists so that a {@link Break} can leave it: the
 * structurer produces blocks only where Java code jumps forward out of nested constructs, and most vanish in
 * simplification. Labels are identities; targets decide how to spell a break out of something other than the
 * innermost loop (C: goto).
 */
public sealed interface Stmt {
    final class Label {
        private final String name;

        public Label(String name) {
            this.name = name;
        }

        public String name() {
            return name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    record Assign(Variable variable, Expr value) implements Stmt {}

    /** array[index] = value (value narrowed to the element type as Java's bastore/sastore do). */
    record Store(Expr array, Expr index, Expr value) implements Stmt {}

    /** An expression evaluated for its side effects (a call whose result is unused). */
    record Eval(Expr expr) implements Stmt {}

    /** A work-group barrier (KernelContext.localBarrier; global = globalBarrier). */
    record Barrier(boolean global) implements Stmt {}

    record If(Expr cond, List<Stmt> then, List<Stmt> otherwise) implements Stmt {}

    /** cond null = no test; update runs after the body and on continue. */
    record Loop(Label label, Expr cond, List<Stmt> body, List<Stmt> update) implements Stmt {}

    record Block(Label label, List<Stmt> body) implements Stmt {}

    record Break(Label target) implements Stmt {}

    record Continue(Label target) implements Stmt {}

    /** value null in void functions. */
    record Return(Expr value) implements Stmt {}
}
