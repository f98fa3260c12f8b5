package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Stmt;

import java.util.ArrayList;
import java.util.List;

/** A basic block of a method's bytecode: instructions [start, end), then its translation. */
final class BasicBlock {
    final int id;
    final int start;
    int end;
    final List<BasicBlock> succs = new ArrayList<>();
    final List<BasicBlock> preds = new ArrayList<>();
    /** Reverse-postorder number from the entry; -1 when unreachable. */
    int rpo = -1;
    BasicBlock idom;
    final List<BasicBlock> domChildren = new ArrayList<>();

    // translation
    final List<Stmt> stmts = new ArrayList<>();
    /** The operand stack left at the end (javac leaves values on it across ?: only); null when empty. */
    List<Expr> exitStack;
    Terminator term;

    BasicBlock(int id, int start) {
        this.id = id;
        this.start = start;
    }

    sealed interface Terminator {}

    record Goto(BasicBlock target) implements Terminator {}

    record Branch(Expr cond, BasicBlock ifTrue, BasicBlock ifFalse) implements Terminator {}

    record Ret(Expr value) implements Terminator {}

    @Override
    public String toString() {
        return "B" + id + "@" + start;
    }
}
