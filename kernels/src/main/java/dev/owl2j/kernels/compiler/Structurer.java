package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.compiler.BasicBlock.Branch;
import dev.owl2j.kernels.compiler.BasicBlock.Goto;
import dev.owl2j.kernels.compiler.BasicBlock.Ret;
import dev.owl2j.kernels.compiler.ir.Stmt;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Recovers structured control flow (loops, if/else, breaks) from a method's basic blocks. javac's control flow is
 * reducible, and a reducible graph can be written with nested loops and blocks plus forward breaks out of them,
 * guided by the dominator tree (the method of Ramsey, "Beyond Relooper", 2022, expressed here in our own IR):
 * <ul>
 *   <li>a loop header becomes a {@link Stmt.Loop}; an edge back to it a {@link Stmt.Continue};</li>
 *   <li>a block with two or more forward predecessors (a merge point) is placed right after a
 *       {@link Stmt.Block} that encloses its dominator's code, and every jump to it is a {@link Stmt.Break} of
 *       that block;</li>
 *   <li>the code after a loop (blocks the loop's body dominates but that are outside it) is placed after the
 *       loop the same way, so a loop exit is a break;</li>
 *   <li>any other block has one predecessor and is written in place at the branch that reaches it.</li>
 * </ul>
 * The result is verbose (a block per merge point); {@link Simplifier} turns it into ordinary if/else, while and
 * for loops. A graph that is not reducible is refused.
 */
final class Structurer {
    private final List<BasicBlock> blocks;
    private final Function<String, KernelCompileException> refuse;
    private final Map<BasicBlock, BitSet> loopBody = new HashMap<>();
    private final Map<BasicBlock, BasicBlock> claimedBy = new HashMap<>();
    private int labels;

    private sealed interface Frame {}

    private record LoopFrame(BasicBlock header, Stmt.Label label) implements Frame {}

    private record BlockFrame(BasicBlock follow, Stmt.Label label) implements Frame {}

    /** An immutable stack of enclosing constructs, innermost first. */
    private record Ctx(Frame top, Ctx rest) {
        Ctx push(Frame f) {
            return new Ctx(f, this);
        }
    }

    Structurer(List<BasicBlock> rpoBlocks, Function<String, KernelCompileException> refuse) {
        this.blocks = rpoBlocks;
        this.refuse = refuse;
    }

    List<Stmt> structure() {
        dominators();
        loops();
        exits();
        return doTree(blocks.get(0), null);
    }

    private void dominators() {
        BasicBlock entry = blocks.get(0);
        entry.idom = entry;
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int i = 1; i < blocks.size(); i++) {
                BasicBlock b = blocks.get(i);
                BasicBlock nd = null;
                for (BasicBlock p : b.preds) {
                    if (p.idom == null) continue;
                    nd = nd == null ? p : intersect(p, nd);
                }
                if (nd != b.idom) {
                    b.idom = nd;
                    changed = true;
                }
            }
        }
        for (int i = 1; i < blocks.size(); i++) blocks.get(i).idom.domChildren.add(blocks.get(i));
    }

    private static BasicBlock intersect(BasicBlock a, BasicBlock b) {
        while (a != b) {
            while (a.rpo > b.rpo) a = a.idom;
            while (b.rpo > a.rpo) b = b.idom;
        }
        return a;
    }

    private static boolean dominates(BasicBlock a, BasicBlock b) {
        while (true) {
            if (a == b) return true;
            if (b.idom == b) return false;
            b = b.idom;
        }
    }

    private static boolean isBack(BasicBlock from, BasicBlock to) {
        return to.rpo <= from.rpo;
    }

    private void loops() {
        for (BasicBlock b : blocks) {
            for (BasicBlock s : b.succs) {
                if (!isBack(b, s)) continue;
                if (!dominates(s, b)) throw refuse.apply("irreducible control flow (a loop entered other than through its head)");
                BitSet body = loopBody.computeIfAbsent(s, h -> {
                    BitSet x = new BitSet();
                    x.set(h.rpo);
                    return x;
                });
                List<BasicBlock> work = new ArrayList<>(List.of(b));
                while (!work.isEmpty()) {
                    BasicBlock n = work.removeLast();
                    if (body.get(n.rpo)) continue;
                    body.set(n.rpo);
                    work.addAll(n.preds);
                }
            }
        }
    }

    private boolean inLoop(BasicBlock header, BasicBlock n) {
        return loopBody.get(header).get(n.rpo);
    }

    /**
     * A block dominated by a block inside a loop but itself outside that loop is the code after the loop: the
     * outermost such loop places it after itself.
     */
    private void exits() {
        for (int i = 1; i < blocks.size(); i++) {
            BasicBlock c = blocks.get(i), x = c.idom;
            BasicBlock best = null;
            for (BasicBlock h : loopBody.keySet()) {
                if (inLoop(h, x) && !inLoop(h, c) && (best == null || loopBody.get(h).cardinality() > loopBody.get(best).cardinality())) {
                    best = h;
                }
            }
            if (best != null) claimedBy.put(c, best);
        }
    }

    private boolean isMerge(BasicBlock b) {
        int forward = 0;
        for (BasicBlock p : b.preds) {
            for (BasicBlock s : p.succs) if (s == b && !isBack(p, b)) forward++;
        }
        return forward >= 2;
    }

    private Stmt.Label label(String prefix) {
        return new Stmt.Label(prefix + labels++);
    }

    private List<Stmt> doTree(BasicBlock x, Ctx ctx) {
        List<BasicBlock> merges = new ArrayList<>();
        for (BasicBlock c : x.domChildren) if (isMerge(c) && !claimedBy.containsKey(c)) merges.add(c);
        merges.sort((a, b) -> Integer.compare(a.rpo, b.rpo));
        if (loopBody.containsKey(x)) {
            List<BasicBlock> exits = new ArrayList<>();
            for (var e : claimedBy.entrySet()) if (e.getValue() == x) exits.add(e.getKey());
            exits.sort((a, b) -> Integer.compare(a.rpo, b.rpo));
            return wrapExits(x, merges, exits, ctx);
        }
        return nodeWithin(x, merges, ctx);
    }

    private List<Stmt> wrapExits(BasicBlock header, List<BasicBlock> merges, List<BasicBlock> exits, Ctx ctx) {
        if (exits.isEmpty()) {
            Stmt.Label l = label("L");
            Ctx inner = new Ctx(new LoopFrame(header, l), ctx);
            return new ArrayList<>(List.of(new Stmt.Loop(l, null, nodeWithin(header, merges, inner), List.of())));
        }
        BasicBlock last = exits.getLast();
        Stmt.Label b = label("B");
        List<Stmt> out = new ArrayList<>();
        out.add(new Stmt.Block(b, wrapExits(header, merges, exits.subList(0, exits.size() - 1), new Ctx(new BlockFrame(last, b), ctx))));
        out.addAll(doTree(last, ctx));
        return out;
    }

    private List<Stmt> nodeWithin(BasicBlock x, List<BasicBlock> merges, Ctx ctx) {
        if (merges.isEmpty()) {
            List<Stmt> out = new ArrayList<>(x.stmts);
            switch (x.term) {
                case Goto g -> out.addAll(branch(x, g.target(), ctx));
                case Branch br -> out.add(new Stmt.If(br.cond(), branch(x, br.ifTrue(), ctx), branch(x, br.ifFalse(), ctx)));
                case Ret r -> out.add(new Stmt.Return(r.value()));
            }
            return out;
        }
        BasicBlock last = merges.getLast();
        Stmt.Label b = label("B");
        List<Stmt> out = new ArrayList<>();
        out.add(new Stmt.Block(b, nodeWithin(x, merges.subList(0, merges.size() - 1), new Ctx(new BlockFrame(last, b), ctx))));
        out.addAll(doTree(last, ctx));
        return out;
    }

    private List<Stmt> branch(BasicBlock from, BasicBlock to, Ctx ctx) {
        if (isBack(from, to)) {
            for (Ctx c = ctx; c != null; c = c.rest()) {
                if (c.top() instanceof LoopFrame lf && lf.header() == to) return new ArrayList<>(List.of(new Stmt.Continue(lf.label())));
            }
            throw new IllegalStateException("no enclosing loop for a back edge to " + to);
        }
        if (isMerge(to) || claimedBy.containsKey(to)) {
            for (Ctx c = ctx; c != null; c = c.rest()) {
                if (c.top() instanceof BlockFrame bf && bf.follow() == to) return new ArrayList<>(List.of(new Stmt.Break(bf.label())));
            }
            throw new IllegalStateException("no enclosing block followed by " + to);
        }
        return doTree(to, ctx);
    }
}
