package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.compiler.BasicBlock.Branch;
import dev.owl2j.kernels.compiler.BasicBlock.Goto;
import dev.owl2j.kernels.compiler.BasicBlock.Ret;
import dev.owl2j.kernels.compiler.ir.ArrayDecl;
import dev.owl2j.kernels.compiler.ir.Expr;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.IrWalk;
import dev.owl2j.kernels.compiler.ir.Stmt;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Type.Prim;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.lang.classfile.Attributes;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeElement;
import java.lang.classfile.CodeModel;
import java.lang.classfile.Instruction;
import java.lang.classfile.Label;
import java.lang.classfile.MethodModel;
import java.lang.classfile.Opcode;
import java.lang.classfile.TypeKind;
import java.lang.classfile.instruction.*;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.reflect.AccessFlag;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates one method's bytecode into IR basic blocks: splits the code at branch targets, identifies the
 * method's variables (a bytecode slot may hold several Java variables over time, and one Java variable may have
 * several local-variable-table ranges, so variables are the def-use webs of a slot, named from the table), and
 * runs the operand stack symbolically so every instruction becomes part of an expression tree or a statement.
 * Control flow is left as block terminators for {@link Structurer}. Library calls (KernelContext, the device
 * arrays, Math, Float, ...) are mapped by {@link Library}. Everything else is refused with one line naming the
 * class, method, source line and construct.
 *
 * <p>Over 500 lines because the bytecode instruction set is one switch; splitting it would scatter the stack
 * discipline (what is spilled before which side effect) that must be read as a whole.
 */
final class MethodTranslator {
    static final String CONTEXT = "dev/owl2j/kernels/lang/KernelContext";

    /** The KernelContext on the operand stack (only ever a receiver or an argument to a helper). */
    enum Ctx { INSTANCE }

    /** A pending lcmp/fcmpl/fcmpg/dcmpl/dcmpg result: branched on (the usual case) or lowered to a value. */
    record Cmp3(Expr left, Expr right, boolean nanIsGreater) {}

    final KernelCompiler compiler;
    final String className;
    final String methodName;
    final String sourceFile;
    final boolean kernel;
    final Capabilities caps;
    private final ClassModel cls;
    private final MethodModel method;
    /** For helper functions: the types of the call's arguments (array spaces specialize the function). */
    private final List<Type> callArgTypes;

    private final List<Instruction> insns = new ArrayList<>();
    private final List<Integer> lines = new ArrayList<>();
    /** Bytecode offset of each instruction, for refusals in classes compiled without line numbers too. */
    private final List<Integer> offsets = new ArrayList<>();
    private final Map<Label, Integer> labels = new HashMap<>();
    private final List<LocalVariable> lvt = new ArrayList<>();
    private final List<BasicBlock> blocks = new ArrayList<>();
    private BasicBlock[] blockAt;

    // parameters
    private final List<Variable> params = new ArrayList<>();
    private final Map<Integer, Variable> paramBySlot = new HashMap<>();
    private int contextSlot = -1;
    private Function function;

    // variables as def-use webs
    private final Map<Integer, Integer> defAtInsn = new HashMap<>();
    private final Map<Integer, Integer> useAtInsn = new HashMap<>();
    private int[] webParent;
    private final List<Integer> defSlot = new ArrayList<>();
    private final Map<Integer, Variable> webVar = new HashMap<>();
    private final Map<Integer, TypeKind> webKind = new HashMap<>();
    private final Map<Integer, String> webName = new HashMap<>();
    /** Array variables whose value is known to be one declared array (for arraylength). */
    private final Map<Variable, ArrayDecl> arrayOf = new IdentityHashMap<>();
    private int temps;

    // translation state
    private int pos;
    private BasicBlock current;
    private final ArrayDeque<Object> stack = new ArrayDeque<>();
    final Library library;

    MethodTranslator(KernelCompiler compiler, ClassModel cls, MethodModel method, String sourceFile, boolean kernel,
                     List<Type> callArgTypes, Capabilities caps) {
        this.compiler = compiler;
        this.cls = cls;
        this.method = method;
        this.className = cls.thisClass().asInternalName().replace('/', '.');
        this.methodName = method.methodName().stringValue();
        this.sourceFile = sourceFile;
        this.kernel = kernel;
        this.callArgTypes = callArgTypes;
        this.caps = caps;
        this.library = new Library(this);
    }

    KernelCompileException refuse(String construct) {
        boolean at = pos >= 0 && pos < lines.size();
        return KernelCompileException.at(className, methodName, sourceFile, at ? lines.get(pos) : firstLine(),
                at ? offsets.get(pos) : -1, construct);
    }

    private int firstLine() {
        for (int l : lines) if (l > 0) return l;
        return 0;
    }

    Function translate() {
        pos = -1;
        if (method.flags().has(AccessFlag.NATIVE) || method.code().isEmpty()) throw refuse("method without bytecode (native or abstract)");
        CodeModel code = method.code().get();
        collect(code);
        pos = 0;
        if (!method.flags().has(AccessFlag.STATIC)) throw refuse("instance method (kernels and the methods they call must be static)");
        if (method.flags().has(AccessFlag.SYNCHRONIZED)) throw refuse("synchronized method");
        MethodTypeDesc desc = method.methodTypeSymbol();
        Prim ret = returnType(desc.returnType());
        if (kernel && ret != Prim.VOID) throw refuse("a kernel must return void, not " + desc.returnType().displayName());
        declareParams(desc);
        function = new Function(className, methodName, sourceFile, kernel, ret, params);
        buildBlocks();
        computeWebs();
        for (BasicBlock b : rpoOrder()) translateBlock(b);
        List<BasicBlock> reachable = rpoOrder();
        List<Stmt> body = new Structurer(reachable, this::refuse).structure();
        function.setBody(Simplifier.simplify(body, ret == Prim.VOID));
        nameDeclaredArrays();
        return function;
    }

    // ---- collection and blocks ----

    private void collect(CodeModel code) {
        int line = 0, offset = 0;
        ExceptionCatch handler = null;
        for (CodeElement e : code) {
            switch (e) {
                case LabelTarget t -> labels.put(t.label(), insns.size());
                case LineNumber ln -> line = ln.line();
                case LocalVariable lv -> lvt.add(lv);
                case ExceptionCatch ec -> {
                    if (handler == null) handler = ec;
                }
                case Instruction i -> {
                    insns.add(i);
                    lines.add(line);
                    offsets.add(offset);
                    offset += i.sizeInBytes();
                }
                default -> {
                }
            }
        }
        if (handler != null) {
            for (int i = 0; i < insns.size(); i++) {
                if (insns.get(i) instanceof MonitorInstruction) { // javac guards synchronized blocks with handlers
                    pos = i;
                    throw refuse("synchronized block");
                }
            }
            pos = Math.min(target(handler.tryStart()), insns.size() - 1);
            throw refuse("exception handler (try/catch/finally)");
        }
    }

    private int target(Label l) {
        Integer i = labels.get(l);
        if (i == null) throw new IllegalStateException("unbound label");
        return i;
    }

    private static boolean endsBlock(Instruction i) {
        return i instanceof BranchInstruction || i instanceof ReturnInstruction || i instanceof ThrowInstruction
                || i instanceof TableSwitchInstruction || i instanceof LookupSwitchInstruction;
    }

    private void buildBlocks() {
        int n = insns.size();
        BitSet leader = new BitSet(n + 1);
        leader.set(0);
        for (int i = 0; i < n; i++) {
            pos = i;
            Instruction in = insns.get(i);
            switch (in) {
                case BranchInstruction b -> {
                    leader.set(target(b.target()));
                    leader.set(i + 1);
                }
                case TableSwitchInstruction t -> throw refuse("switch statement");
                case LookupSwitchInstruction t -> throw refuse("switch statement");
                case DiscontinuedInstruction d -> throw refuse("jsr/ret subroutine");
                default -> {
                    if (endsBlock(in)) leader.set(i + 1);
                }
            }
        }
        blockAt = new BasicBlock[n];
        BasicBlock cur = null;
        for (int i = 0; i < n; i++) {
            if (leader.get(i)) {
                if (cur != null) cur.end = i;
                cur = new BasicBlock(blocks.size(), i);
                blocks.add(cur);
            }
            blockAt[i] = cur;
        }
        if (cur != null) cur.end = n;
        for (BasicBlock b : blocks) {
            Instruction last = insns.get(b.end - 1);
            if (last instanceof BranchInstruction br) {
                edge(b, blockAt[target(br.target())]);
                if (br.opcode() != Opcode.GOTO && br.opcode() != Opcode.GOTO_W) edge(b, blockAt[b.end]);
            } else if (!endsBlock(last)) {
                if (b.end >= n) {
                    pos = b.end - 1;
                    throw refuse("code falls off the end of the method");
                }
                edge(b, blockAt[b.end]);
            }
        }
        // reverse postorder from the entry (iterative DFS)
        List<BasicBlock> post = new ArrayList<>();
        boolean[] seen = new boolean[blocks.size()];
        ArrayDeque<int[]> dfs = new ArrayDeque<>();
        dfs.push(new int[]{0, 0});
        seen[0] = true;
        while (!dfs.isEmpty()) {
            int[] top = dfs.peek();
            BasicBlock b = blocks.get(top[0]);
            if (top[1] < b.succs.size()) {
                BasicBlock s = b.succs.get(top[1]++);
                if (!seen[s.id]) {
                    seen[s.id] = true;
                    dfs.push(new int[]{s.id, 0});
                }
            } else {
                post.add(b);
                dfs.pop();
            }
        }
        for (int i = 0; i < post.size(); i++) post.get(post.size() - 1 - i).rpo = i;
        for (BasicBlock b : blocks) b.preds.removeIf(p -> p.rpo < 0);
    }

    private static void edge(BasicBlock from, BasicBlock to) {
        from.succs.add(to);
        to.preds.add(from);
    }

    List<BasicBlock> rpoOrder() {
        List<BasicBlock> r = new ArrayList<>();
        for (BasicBlock b : blocks) if (b.rpo >= 0) r.add(b);
        r.sort((a, b) -> Integer.compare(a.rpo, b.rpo));
        return r;
    }

    // ---- parameters and variables ----

    private static Prim returnType(ClassDesc d) {
        return switch (d.descriptorString()) {
            case "V" -> Prim.VOID;
            case "I", "Z", "B", "S", "C" -> Prim.INT;
            case "J" -> Prim.LONG;
            case "F" -> Prim.FLOAT;
            case "D" -> Prim.DOUBLE;
            default -> null;
        };
    }

    private void declareParams(MethodTypeDesc desc) {
        List<String> names = paramNames(desc.parameterCount());
        int slot = 0;
        for (int i = 0; i < desc.parameterCount(); i++) {
            ClassDesc p = desc.parameterType(i);
            String d = p.descriptorString();
            String name = names.get(i);
            Type t;
            if (d.equals("L" + CONTEXT + ";")) {
                if (contextSlot >= 0) throw refuse("two KernelContext parameters");
                contextSlot = slot;
                slot++;
                continue;
            }
            Prim arrayElem = Library.nativeArrayElem(d);
            if (arrayElem != null) {
                t = new Type.ArrayType(arrayElem, Type.Space.GLOBAL);
            } else if (d.startsWith("[") && d.length() == 2 && Library.javaArrayElem(d.charAt(1)) != null) {
                if (kernel) {
                    throw refuse("kernel parameter " + name + " of type " + p.displayName()
                            + " (Java arrays are not device memory: use FloatArray, IntArray, ShortArray, ByteArray)");
                }
                Type argT = callArgTypes == null ? null : callArgTypes.get(params.size());
                if (!(argT instanceof Type.ArrayType at)) throw new IllegalStateException("array parameter without a call-site type");
                t = at;
            } else {
                Prim prim = switch (d) {
                    case "I" -> Prim.INT;
                    case "J" -> Prim.LONG;
                    case "F" -> Prim.FLOAT;
                    case "D" -> Prim.DOUBLE;
                    case "Z", "B", "S", "C" -> kernel ? null : Prim.INT;
                    default -> null;
                };
                if (prim == null) {
                    throw refuse((kernel ? "kernel parameter " : "parameter ") + name + " of type " + p.displayName()
                            + " (allowed: KernelContext, FloatArray, IntArray, ShortArray, ByteArray, DoubleArray, LongArray, int, long, float, double"
                            + (kernel ? "" : ", boolean, byte, short, char, and float[]/int[]/double[]/long[] local or private arrays") + ")");
                }
                checkCaps(prim);
                t = prim;
            }
            Variable v = new Variable(name, t, Variable.Kind.PARAM);
            params.add(v);
            paramBySlot.put(slot, v);
            slot += (d.equals("J") || d.equals("D")) ? 2 : 1;
        }
        if (kernel && contextSlot < 0 && false) throw refuse("kernel without a KernelContext parameter");
    }

    private List<String> paramNames(int count) {
        List<String> out = new ArrayList<>();
        var mp = method.findAttribute(Attributes.methodParameters());
        if (mp.isPresent() && mp.get().parameters().size() == count) {
            for (var p : mp.get().parameters()) out.add(p.name().map(n -> n.stringValue()).orElse("p" + out.size()));
            return out;
        }
        MethodTypeDesc desc = method.methodTypeSymbol();
        int slot = 0;
        for (int i = 0; i < count; i++) {
            String found = null;
            for (LocalVariable lv : lvt) {
                if (lv.slot() == slot && target(lv.startScope()) == 0) found = lv.name().stringValue();
            }
            out.add(found != null ? found : "p" + i);
            String d = desc.parameterType(i).descriptorString();
            slot += (d.equals("J") || d.equals("D")) ? 2 : 1;
        }
        return out;
    }

    void checkCaps(Prim p) {
        if (p == Prim.LONG && !caps.int64()) throw refuse("long (64-bit integer) arithmetic, which this target lacks");
        if (p == Prim.DOUBLE && !caps.fp64()) throw refuse("double arithmetic, which this target lacks");
    }

    /**
     * Def-use webs: every store (and iinc) is a definition, every parameter one at the entry; a load joins the
     * webs of all definitions that reach it. Each web becomes one variable.
     */
    private void computeWebs() {
        int maxSlot = 0;
        for (Instruction in : insns) {
            int s = slotOf(in);
            if (s >= 0) maxSlot = Math.max(maxSlot, s + 2);
        }
        for (int s : paramBySlot.keySet()) maxSlot = Math.max(maxSlot, s + 2);
        if (contextSlot >= 0) maxSlot = Math.max(maxSlot, contextSlot + 2);
        List<BitSet> slotDefs = new ArrayList<>();
        for (int s = 0; s < maxSlot; s++) slotDefs.add(new BitSet());
        // parameter definitions first
        Map<Integer, Integer> paramDef = new HashMap<>();
        for (int s : paramBySlot.keySet()) {
            paramDef.put(s, defSlot.size());
            slotDefs.get(s).set(defSlot.size());
            defSlot.add(s);
        }
        for (int i = 0; i < insns.size(); i++) {
            Instruction in = insns.get(i);
            if (in instanceof StoreInstruction st) {
                defAtInsn.put(i, defSlot.size());
                slotDefs.get(st.slot()).set(defSlot.size());
                defSlot.add(st.slot());
            } else if (in instanceof IncrementInstruction inc) {
                defAtInsn.put(i, defSlot.size());
                slotDefs.get(inc.slot()).set(defSlot.size());
                defSlot.add(inc.slot());
            }
        }
        webParent = new int[defSlot.size()];
        for (int i = 0; i < webParent.length; i++) webParent[i] = i;
        // reaching definitions per block
        List<BasicBlock> order = rpoOrder();
        Map<BasicBlock, BitSet> in = new IdentityHashMap<>();
        Map<BasicBlock, BitSet> out = new IdentityHashMap<>();
        BitSet entry = new BitSet();
        for (int d : paramDef.values()) entry.set(d);
        boolean changed = true;
        while (changed) {
            changed = false;
            for (BasicBlock b : order) {
                BitSet r = new BitSet();
                if (b.rpo == 0) r.or(entry);
                for (BasicBlock p : b.preds) {
                    BitSet po = out.get(p);
                    if (po != null) r.or(po);
                }
                in.put(b, (BitSet) r.clone());
                for (int i = b.start; i < b.end; i++) {
                    Integer d = defAtInsn.get(i);
                    if (d != null) {
                        r.andNot(slotDefs.get(defSlot.get(d)));
                        r.set(d);
                    }
                }
                if (!r.equals(out.get(b))) {
                    out.put(b, r);
                    changed = true;
                }
            }
        }
        for (BasicBlock b : order) {
            BitSet r = (BitSet) in.get(b).clone();
            for (int i = b.start; i < b.end; i++) {
                Instruction ins = insns.get(i);
                int slot = -1;
                if (ins instanceof LoadInstruction ld) slot = ld.slot();
                else if (ins instanceof IncrementInstruction inc) slot = inc.slot();
                if (slot >= 0 && slot != contextSlot) {
                    BitSet reach = (BitSet) r.clone();
                    reach.and(slotDefs.get(slot));
                    int first = reach.nextSetBit(0);
                    if (first < 0) {
                        pos = i;
                        throw refuse("read of an unassigned local variable");
                    }
                    for (int d = reach.nextSetBit(first + 1); d >= 0; d = reach.nextSetBit(d + 1)) union(first, d);
                    useAtInsn.put(i, first);
                    if (ins instanceof IncrementInstruction) union(first, defAtInsn.get(i));
                }
                Integer d = defAtInsn.get(i);
                if (d != null) {
                    r.andNot(slotDefs.get(defSlot.get(d)));
                    r.set(d);
                }
            }
        }
        // names from the local variable table (defs are in scope from the next instruction on)
        for (var e : defAtInsn.entrySet()) nameWeb(find(e.getValue()), defSlot.get(e.getValue()), e.getKey() + 1);
        for (var e : useAtInsn.entrySet()) nameWeb(find(e.getValue()), defSlot.get(e.getValue()), e.getKey());
        // Webs of one slot are never live at the same time (the slot holds one value), so webs of the same slot,
        // kind and Java name are one variable: "r = ...; if (c) r += 1; r += 2" stays one r in the output.
        Map<String, Integer> bySlotName = new HashMap<>();
        for (var e : new ArrayList<>(defAtInsn.entrySet())) {
            int web = find(e.getValue());
            String key = defSlot.get(e.getValue()) + ":" + kindOf(insns.get(e.getKey())) + ":" + webName.getOrDefault(web, "");
            Integer other = bySlotName.putIfAbsent(key, web);
            if (other != null && find(other) != web) {
                String n = webName.get(find(other));
                union(web, other);
                if (n != null) webName.put(find(web), n);
            }
        }
        for (var e : paramDef.entrySet()) webVar.put(find(e.getValue()), paramBySlot.get(e.getKey()));
    }

    private static String kindOf(Instruction in) {
        return switch (in) {
            case StoreInstruction s -> s.typeKind().name();
            default -> "INT";
        };
    }

    private static int slotOf(Instruction in) {
        return switch (in) {
            case LoadInstruction l -> l.slot();
            case StoreInstruction s -> s.slot();
            case IncrementInstruction i -> i.slot();
            default -> -1;
        };
    }

    private void nameWeb(int web, int slot, int at) {
        if (webName.containsKey(web)) return;
        for (LocalVariable lv : lvt) {
            if (lv.slot() == slot && target(lv.startScope()) <= at && at < target(lv.endScope())) {
                webName.put(web, lv.name().stringValue());
                return;
            }
        }
    }

    private int find(int x) {
        while (webParent[x] != x) x = webParent[x] = webParent[webParent[x]];
        return x;
    }

    private void union(int a, int b) {
        webParent[find(a)] = find(b);
    }

    /** The variable of the web defined or used at instruction i; created on first sight with type t. */
    private Variable var(int web, Type t) {
        Variable v = webVar.get(web);
        if (v == null) {
            if (t == null) throw refuse("local variable read before any assignment");
            String name = webName.getOrDefault(web, "v" + web);
            v = new Variable(name, t, Variable.Kind.LOCAL);
            webVar.put(web, v);
        }
        return v;
    }

    Variable temp(Type t) {
        return new Variable("$t" + temps++, t, Variable.Kind.TEMP);
    }

    // ---- symbolic execution ----

    private void translateBlock(BasicBlock b) {
        current = b;
        stack.clear();
        for (Expr e : entryStack(b)) stack.push(e);
        for (pos = b.start; pos < b.end; pos++) {
            Instruction in = insns.get(pos);
            if (pos == b.end - 1 && endsBlock(in)) {
                terminate(b, in);
                return;
            }
            instruction(in);
        }
        // falls through into the next block
        BasicBlock next = b.succs.get(0);
        handOverStack(b, List.of(next));
        b.term = new Goto(next);
    }

    private void terminate(BasicBlock b, Instruction in) {
        switch (in) {
            case ReturnInstruction r -> {
                Expr v = r.typeKind() == TypeKind.VOID ? null : popExpr();
                if (r.typeKind() == TypeKind.REFERENCE) throw refuse("returning a reference");
                b.term = new Ret(v);
            }
            case ThrowInstruction t -> throw refuse("throw (exceptions are not available in kernels)");
            case BranchInstruction br -> {
                BasicBlock target = blockAt[target(br.target())];
                if (br.opcode() == Opcode.GOTO || br.opcode() == Opcode.GOTO_W) {
                    handOverStack(b, List.of(target));
                    b.term = new Goto(target);
                    return;
                }
                Expr cond = condition(br.opcode());
                BasicBlock fall = blockAt[b.end];
                handOverStack(b, List.of(target, fall));
                b.term = new Branch(cond, target, fall);
            }
            default -> throw new IllegalStateException("terminator " + in);
        }
    }

    /** Values left on the stack at a block's end (javac: the operands below a ?: expression) wait for its successors. */
    private void handOverStack(BasicBlock b, List<BasicBlock> succs) {
        if (stack.isEmpty()) return;
        List<Expr> values = new ArrayList<>();
        for (var it = stack.descendingIterator(); it.hasNext(); ) values.add(asExpr(it.next()));
        for (BasicBlock s : succs) {
            if (s.rpo <= b.rpo) throw refuse("a value kept on the operand stack around a loop");
        }
        b.exitStack = values;
        stack.clear();
    }

    /**
     * A block's entry stack, bottom first. All its predecessors come earlier in reverse postorder and have left
     * the same number of values; a value every predecessor left identically passes through as is (nothing in
     * between could change it: effects spill what they would change), others go through a temporary each
     * predecessor assigns last.
     */
    private List<Expr> entryStack(BasicBlock b) {
        List<BasicBlock> preds = b.preds;
        if (preds.isEmpty() || preds.getFirst().exitStack == null) {
            for (BasicBlock p : preds) if (p.exitStack != null) throw refuse("inconsistent operand stack at a branch");
            return List.of();
        }
        int n = preds.getFirst().exitStack.size();
        for (BasicBlock p : preds) {
            if (p.exitStack == null || p.exitStack.size() != n) throw refuse("inconsistent operand stack at a branch");
        }
        List<Expr> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            Expr first = preds.getFirst().exitStack.get(k);
            boolean same = true;
            for (BasicBlock p : preds) same &= p.exitStack.get(k).equals(first);
            if (same) {
                out.add(first);
            } else {
                Variable v = temp(first.type());
                for (BasicBlock p : preds) p.stmts.add(new Stmt.Assign(v, p.exitStack.get(k)));
                out.add(new Expr.Local(v));
            }
        }
        return out;
    }

    private Expr condition(Opcode op) {
        return switch (op) {
            case IFEQ, IFNE, IFLT, IFGE, IFGT, IFLE -> {
                Object top = stack.pop();
                Expr.CmpOp c = switch (op) {
                    case IFEQ -> Expr.CmpOp.EQ;
                    case IFNE -> Expr.CmpOp.NE;
                    case IFLT -> Expr.CmpOp.LT;
                    case IFGE -> Expr.CmpOp.GE;
                    case IFGT -> Expr.CmpOp.GT;
                    default -> Expr.CmpOp.LE;
                };
                if (top instanceof Cmp3 cmp) yield threeWay(cmp, c);
                Expr v = asExpr(top);
                yield new Expr.Compare(c, v, Expr.Const.ofInt(0));
            }
            case IF_ICMPEQ, IF_ICMPNE, IF_ICMPLT, IF_ICMPGE, IF_ICMPGT, IF_ICMPLE -> {
                Expr r = popExpr(), l = popExpr();
                Expr.CmpOp c = switch (op) {
                    case IF_ICMPEQ -> Expr.CmpOp.EQ;
                    case IF_ICMPNE -> Expr.CmpOp.NE;
                    case IF_ICMPLT -> Expr.CmpOp.LT;
                    case IF_ICMPGE -> Expr.CmpOp.GE;
                    case IF_ICMPGT -> Expr.CmpOp.GT;
                    default -> Expr.CmpOp.LE;
                };
                yield new Expr.Compare(c, l, r);
            }
            case IF_ACMPEQ, IF_ACMPNE, IFNULL, IFNONNULL -> throw refuse("comparison of references (==, != or null checks on objects)");
            default -> throw refuse("branch " + op);
        };
    }

    /**
     * A branch on lcmp/fcmp/dcmp against 0 as a plain comparison. fcmpl yields -1 and fcmpg +1 for NaN, which
     * javac picks so that the Java comparison is false on NaN; the negated forms keep that.
     */
    private static Expr threeWay(Cmp3 c, Expr.CmpOp op) {
        Expr l = c.left(), r = c.right();
        boolean floating = ((Prim) l.type()).isFloating();
        if (!floating) return new Expr.Compare(op, l, r);
        if (c.nanIsGreater()) { // fcmpg: NaN -> 1
            return switch (op) {
                case GT -> not(new Expr.Compare(Expr.CmpOp.LE, l, r));
                case GE -> not(new Expr.Compare(Expr.CmpOp.LT, l, r));
                default -> new Expr.Compare(op, l, r);
            };
        }
        return switch (op) { // fcmpl: NaN -> -1
            case LT -> not(new Expr.Compare(Expr.CmpOp.GE, l, r));
            case LE -> not(new Expr.Compare(Expr.CmpOp.GT, l, r));
            default -> new Expr.Compare(op, l, r);
        };
    }

    private static Expr not(Expr e) {
        return new Expr.Unary(Expr.UnOp.NOT, e);
    }

    Expr asExpr(Object o) {
        return switch (o) {
            case Expr e -> e;
            case Cmp3 c -> {
                // as a value: -1, 0 or 1 (NaN gives the instruction's choice)
                Expr l = c.left(), r = c.right();
                Expr lt = new Expr.Compare(Expr.CmpOp.LT, l, r), gt = new Expr.Compare(Expr.CmpOp.GT, l, r);
                Expr eq = new Expr.Compare(Expr.CmpOp.EQ, l, r);
                Expr nan = Expr.Const.ofInt(c.nanIsGreater() ? 1 : -1);
                yield new Expr.Select(lt, Expr.Const.ofInt(-1), new Expr.Select(gt, Expr.Const.ofInt(1),
                        new Expr.Select(eq, Expr.Const.ofInt(0), nan)));
            }
            case Ctx x -> throw refuse("KernelContext used as a value (only its fields, barriers and local arrays)");
            default -> throw new IllegalStateException(String.valueOf(o));
        };
    }

    Expr popExpr() {
        return asExpr(stack.pop());
    }

    Object pop() {
        return stack.pop();
    }

    void push(Object o) {
        stack.push(o);
    }

    private static boolean wide(Object o) {
        return o instanceof Expr e && (e.type() == Prim.LONG || e.type() == Prim.DOUBLE);
    }

    /** Before a statement with effects: values still on the stack must not observe them. */
    void emit(Stmt s) {
        boolean memory = !(s instanceof Stmt.Assign) || IrWalk.exprsOf(s).stream().anyMatch(MethodTranslator::hasCall);
        Variable assigned = s instanceof Stmt.Assign a ? a.variable() : null;
        spillStack(e -> (memory && (hasCall(e) || hasLoad(e)))
                || (assigned != null && IrWalk.containsExpr(e, x -> x instanceof Expr.Local l && l.variable() == assigned)));
        current.stmts.add(s);
    }

    /**
     * A call goes on the stack only after the calls and memory reads still there were evaluated: Java evaluates
     * left to right, C leaves the order of operands open, and the call may write what they read. So within an
     * expression nothing that touches memory is evaluated before a call (which also lets the JVM backend lift
     * calls out of expressions).
     */
    void pushCall(Expr call) {
        spillStack(e -> hasCall(e) || hasLoad(e));
        push(call);
    }

    private void spillStack(java.util.function.Predicate<Expr> p) {
        List<Object> items = new ArrayList<>(stack);
        boolean any = false;
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i) instanceof Expr e && !(e instanceof Expr.Local) && !(e instanceof Expr.Const) && p.test(e)) {
                Variable t = temp(e.type());
                current.stmts.add(new Stmt.Assign(t, e));
                items.set(i, new Expr.Local(t));
                any = true;
            }
        }
        if (any) {
            stack.clear();
            for (int i = items.size() - 1; i >= 0; i--) stack.push(items.get(i));
        }
    }

    static boolean hasCall(Expr e) {
        return IrWalk.containsExpr(e, x -> x instanceof Expr.Call);
    }

    private static boolean hasLoad(Expr e) {
        return IrWalk.containsExpr(e, x -> x instanceof Expr.Load || x instanceof Expr.Intrinsic i
                && i.op() == Expr.Intrinsic.Op.BYTES_GET_SHORT);
    }

    private static Prim prim(TypeKind k) {
        return switch (k) {
            case INT, BOOLEAN, BYTE, SHORT, CHAR -> Prim.INT;
            case LONG -> Prim.LONG;
            case FLOAT -> Prim.FLOAT;
            case DOUBLE -> Prim.DOUBLE;
            default -> null;
        };
    }

    private void instruction(Instruction in) {
        switch (in) {
            case LoadInstruction ld -> {
                if (ld.slot() == contextSlot) {
                    push(Ctx.INSTANCE);
                    return;
                }
                Integer web = useAtInsn.get(pos);
                Variable v = var(find(web), ld.typeKind() == TypeKind.REFERENCE ? null : prim(ld.typeKind()));
                push(new Expr.Local(v));
            }
            case StoreInstruction st -> {
                Object value = pop();
                if (st.slot() == contextSlot || value == Ctx.INSTANCE) throw refuse("assignment involving the KernelContext variable");
                Expr e = asExpr(value);
                Variable v = var(find(defAtInsn.get(pos)), e.type());
                if (v.type() instanceof Type.ArrayType at && !(e.type() instanceof Type.ArrayType et && et.equals(at))) {
                    throw refuse("one array variable holding arrays of different memory spaces (" + at + " and " + e.type() + ")");
                }
                if (e instanceof Expr.ArrayRef r) arrayOf.put(v, r.decl());
                emit(new Stmt.Assign(v, e));
            }
            case IncrementInstruction inc -> {
                Variable v = var(find(useAtInsn.get(pos)), Prim.INT);
                emit(new Stmt.Assign(v, new Expr.Binary(Expr.BinOp.ADD, Prim.INT, new Expr.Local(v), Expr.Const.ofInt(inc.constant()))));
            }
            case ConstantInstruction c -> constant(c);
            case OperatorInstruction op -> operator(op);
            case ConvertInstruction cv -> {
                Expr e = popExpr();
                Prim to = switch (cv.toType()) {
                    case BYTE -> Prim.BYTE;
                    case SHORT -> Prim.SHORT;
                    case CHAR -> Prim.CHAR;
                    default -> prim(cv.toType());
                };
                checkCaps(to);
                push(Library.convert(to, e));
            }
            case StackInstruction s -> stackOp(s.opcode());
            case FieldInstruction f -> library.field(f);
            case InvokeInstruction inv -> library.invoke(inv);
            case InvokeDynamicInstruction d -> throw refuse("lambda, method reference or string concatenation (invokedynamic)");
            case NewObjectInstruction n -> {
                for (int k = pos + 1; k < current.end; k++) {
                    if (insns.get(k) instanceof ThrowInstruction) throw refuse("throw (exceptions are not available in kernels)");
                }
                throw refuse("object allocation (new " + n.className().asInternalName().replace('/', '.') + ")");
            }
            case NewPrimitiveArrayInstruction na -> {
                Expr len = popExpr();
                Prim elem = switch (na.typeKind()) {
                    case INT -> Prim.INT;
                    case FLOAT -> Prim.FLOAT;
                    case LONG -> Prim.LONG;
                    case DOUBLE -> Prim.DOUBLE;
                    default -> null;
                };
                if (elem == null) throw refuse("private array of " + na.typeKind().name().toLowerCase() + " (allowed: int, long, float, double)");
                if (!(len instanceof Expr.Const k) || (int) k.value() <= 0) {
                    throw refuse("array allocation with a length that is not a positive compile-time constant");
                }
                checkCaps(elem);
                ArrayDecl d = new ArrayDecl("$p" + function.arrays().size(), elem, Type.Space.PRIVATE, (int) k.value());
                function.arrays().add(d);
                push(new Expr.ArrayRef(d));
            }
            case NewReferenceArrayInstruction na -> throw refuse("array of objects (new " + na.componentType().asInternalName().replace('/', '.') + "[])");
            case NewMultiArrayInstruction na -> throw refuse("multi-dimensional array allocation");
            case ArrayLoadInstruction al -> {
                Expr idx = popExpr();
                Expr arr = arrayExpr(pop());
                push(new Expr.Load(arr, idx));
            }
            case ArrayStoreInstruction as -> {
                Expr v = popExpr(), idx = popExpr();
                Expr arr = arrayExpr(pop());
                emit(new Stmt.Store(arr, idx, v));
            }
            case TypeCheckInstruction t -> throw refuse("type test or cast of a reference (instanceof/checkcast)");
            case MonitorInstruction m -> throw refuse("synchronized block");
            case NopInstruction n -> {
            }
            default -> throw refuse("bytecode " + in.opcode());
        }
    }

    Expr arrayExpr(Object o) {
        Expr e = asExpr(o);
        if (!(e.type() instanceof Type.ArrayType)) throw refuse("array access on a value that is not an array");
        return e;
    }

    /** The declared array an array expression stands for, or null when it is not known at compile time. */
    ArrayDecl declOf(Expr e) {
        if (e instanceof Expr.ArrayRef r) return r.decl();
        if (e instanceof Expr.Local l) return arrayOf.get(l.variable());
        return null;
    }

    private void constant(ConstantInstruction c) {
        if (c.opcode() == Opcode.ACONST_NULL) throw refuse("null reference");
        Object v = c.constantValue();
        switch (v) {
            case Integer i -> push(Expr.Const.ofInt(i));
            case Long l -> {
                checkCaps(Prim.LONG);
                push(new Expr.Const(Prim.LONG, l));
            }
            case Float f -> push(new Expr.Const(Prim.FLOAT, f));
            case Double d -> {
                checkCaps(Prim.DOUBLE);
                push(new Expr.Const(Prim.DOUBLE, d));
            }
            case String s -> throw refuse("string constant \"" + (s.length() > 20 ? s.substring(0, 20) + "..." : s) + "\"");
            case null -> throw refuse("null reference");
            default -> throw refuse("constant of type " + v.getClass().getSimpleName());
        }
    }

    private void operator(OperatorInstruction op) {
        Opcode o = op.opcode();
        switch (o) {
            case ARRAYLENGTH -> {
                Expr arr = arrayExpr(pop());
                ArrayDecl d = declOf(arr);
                if (d == null) throw refuse("length of an array whose size is not known at compile time (use getSize() on array parameters)");
                push(Expr.Const.ofInt(d.length()));
                return;
            }
            case LCMP, FCMPL, FCMPG, DCMPL, DCMPG -> {
                Expr r = popExpr(), l = popExpr();
                push(new Cmp3(l, r, o == Opcode.FCMPG || o == Opcode.DCMPG));
                return;
            }
            case INEG, LNEG, FNEG, DNEG -> {
                Expr e = popExpr();
                push(new Expr.Unary(Expr.UnOp.NEG, e));
                return;
            }
            default -> {
            }
        }
        Prim t = prim(op.typeKind());
        checkCaps(t);
        Expr r = popExpr(), l = popExpr();
        Expr.BinOp b = switch (o) {
            case IADD, LADD, FADD, DADD -> Expr.BinOp.ADD;
            case ISUB, LSUB, FSUB, DSUB -> Expr.BinOp.SUB;
            case IMUL, LMUL, FMUL, DMUL -> Expr.BinOp.MUL;
            case IDIV, LDIV, FDIV, DDIV -> Expr.BinOp.DIV;
            case IREM, LREM, FREM, DREM -> Expr.BinOp.REM;
            case IAND, LAND -> Expr.BinOp.AND;
            case IOR, LOR -> Expr.BinOp.OR;
            case IXOR, LXOR -> Expr.BinOp.XOR;
            case ISHL, LSHL -> Expr.BinOp.SHL;
            case ISHR, LSHR -> Expr.BinOp.SHR;
            case IUSHR, LUSHR -> Expr.BinOp.USHR;
            default -> throw refuse("operator " + o);
        };
        push(new Expr.Binary(b, t, l, r));
    }

    private void stackOp(Opcode op) {
        switch (op) {
            case POP -> {
                Object v = pop();
                if (v instanceof Expr e && hasCall(e)) emit(new Stmt.Eval(e));
            }
            case POP2 -> {
                Object v = pop();
                Object w = wide(v) ? null : pop();
                if (w instanceof Expr e && hasCall(e)) emit(new Stmt.Eval(e));
                if (v instanceof Expr e && hasCall(e)) emit(new Stmt.Eval(e));
            }
            case DUP -> {
                Object v = dupable(pop());
                push(v);
                push(v);
            }
            case DUP_X1 -> {
                Object v1 = dupable(pop()), v2 = pop();
                push(v1);
                push(v2);
                push(v1);
            }
            case DUP_X2 -> {
                Object v1 = dupable(pop()), v2 = pop();
                if (wide(v2)) {
                    push(v1);
                    push(v2);
                    push(v1);
                } else {
                    Object v3 = pop();
                    push(v1);
                    push(v3);
                    push(v2);
                    push(v1);
                }
            }
            case DUP2 -> {
                Object v1 = dupable(pop());
                if (wide(v1)) {
                    push(v1);
                    push(v1);
                } else {
                    Object v2 = dupable(pop());
                    push(v2);
                    push(v1);
                    push(v2);
                    push(v1);
                }
            }
            case DUP2_X1 -> {
                Object v1 = dupable(pop());
                if (wide(v1)) {
                    Object v2 = pop();
                    push(v1);
                    push(v2);
                    push(v1);
                } else {
                    Object v2 = dupable(pop()), v3 = pop();
                    push(v2);
                    push(v1);
                    push(v3);
                    push(v2);
                    push(v1);
                }
            }
            case DUP2_X2 -> {
                Object v1 = dupable(pop());
                if (wide(v1)) {
                    Object v2 = pop();
                    if (wide(v2)) {
                        push(v1);
                        push(v2);
                        push(v1);
                    } else {
                        Object v3 = pop();
                        push(v1);
                        push(v3);
                        push(v2);
                        push(v1);
                    }
                } else {
                    Object v2 = dupable(pop()), v3 = pop();
                    if (wide(v3)) {
                        push(v2);
                        push(v1);
                        push(v3);
                        push(v2);
                        push(v1);
                    } else {
                        Object v4 = pop();
                        push(v2);
                        push(v1);
                        push(v4);
                        push(v3);
                        push(v2);
                        push(v1);
                    }
                }
            }
            case SWAP -> {
                Object v1 = pop(), v2 = pop();
                push(v1);
                push(v2);
            }
            default -> throw refuse("stack instruction " + op);
        }
    }

    /** A value about to be duplicated is evaluated once into a temporary if it has a call in it. */
    private Object dupable(Object v) {
        if (v instanceof Expr e && hasCall(e)) {
            Variable t = temp(e.type());
            current.stmts.add(new Stmt.Assign(t, e));
            return new Expr.Local(t);
        }
        return v;
    }

    Function function() {
        return function;
    }

    /**
     * A declared array assigned to exactly one variable, and that variable only ever holding it, takes the
     * variable's name and replaces it: {@code float[] scratch = ctx.allocateFloatLocalArray(64)} is emitted as
     * the declaration {@code local float scratch[64]} instead of a pointer to an anonymous array.
     */
    private void nameDeclaredArrays() {
        Map<ArrayDecl, Variable> holder = new IdentityHashMap<>();
        Map<Variable, Integer> assigns = new IdentityHashMap<>();
        Map<ArrayDecl, Integer> uses = new IdentityHashMap<>();
        IrWalk.statements(function.body(), s -> {
            if (s instanceof Stmt.Assign a) {
                assigns.merge(a.variable(), 1, Integer::sum);
                if (a.value() instanceof Expr.ArrayRef r) holder.merge(r.decl(), a.variable(), (x, y) -> x == y ? x : null);
            }
        });
        IrWalk.expressions(function.body(), e -> {
            if (e instanceof Expr.ArrayRef r) uses.merge(r.decl(), 1, Integer::sum);
        });
        Map<Variable, ArrayDecl> replace = new IdentityHashMap<>();
        for (ArrayDecl d : function.arrays()) {
            Variable v = holder.get(d);
            if (v != null && v.kind() == Variable.Kind.LOCAL && assigns.get(v) == 1 && uses.get(d) == 1) {
                d.rename(v.name());
                replace.put(v, d);
            }
        }
        if (replace.isEmpty()) return;
        List<Stmt> body = removeAssigns(function.body(), replace);
        function.setBody(IrWalk.rewriteExprs(body, e -> e instanceof Expr.Local l && replace.containsKey(l.variable())
                ? new Expr.ArrayRef(replace.get(l.variable())) : e));
    }

    private static List<Stmt> removeAssigns(List<Stmt> body, Map<Variable, ArrayDecl> vars) {
        List<Stmt> out = new ArrayList<>();
        for (Stmt s : body) {
            switch (s) {
                case Stmt.Assign a when vars.containsKey(a.variable()) -> {
                }
                case Stmt.If i -> out.add(new Stmt.If(i.cond(), removeAssigns(i.then(), vars), removeAssigns(i.otherwise(), vars)));
                case Stmt.Loop l -> out.add(new Stmt.Loop(l.label(), l.cond(), removeAssigns(l.body(), vars), removeAssigns(l.update(), vars)));
                case Stmt.Block b -> out.add(new Stmt.Block(b.label(), removeAssigns(b.body(), vars)));
                default -> out.add(s);
            }
        }
        return out;
    }
}
