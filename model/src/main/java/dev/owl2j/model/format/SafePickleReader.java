package dev.owl2j.model.format;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tensor.DType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A restricted unpickler for the {@code data.pkl} of a {@code torch.save} archive holding a state_dict.
 *
 * <p>Hand-written on purpose: no Java library parses pickles safely (a pickle is a program whose GLOBAL and
 * REDUCE opcodes call arbitrary Python functions). This reader never executes anything. It interprets the
 * opcodes torch.save emits (protocol 2, plus the few protocol 3/4 ones harmless to accept) and knows exactly
 * these globals: {@code collections.OrderedDict}, {@code torch._utils._rebuild_tensor_v2},
 * {@code torch._utils._rebuild_parameter} and the typed storage classes ({@code torch.HalfStorage},
 * {@code torch.BFloat16Storage}, {@code torch.FloatStorage}, {@code torch.LongStorage}, and the other plain
 * numeric ones). Any other global is refused by name when its GLOBAL opcode is read, before it could be used.
 * Storages arrive as persistent ids {@code ('storage', type, key, location, numel)}; their bytes are resolved
 * by the caller ({@link TorchZipCheckpoint}).
 *
 * <p>The work is bounded for any input (docs/security.md): at most {@link #MAX_ITEMS} values, marks and memo
 * entries in all, containers nested at most {@link #MAX_DEPTH} deep, dict keys only strings. A list or dict
 * can no longer change once it has been placed inside another value, which makes self-referencing structures
 * impossible; nothing here ever walks a structure recursively.
 */
public final class SafePickleReader {
    /** A storage named in a persistent id; its bytes live in the archive's {@code data/<key>} entry. */
    public record StorageRef(String key, DType dtype, String location, long numel) {}

    /** A tensor as {@code _rebuild_tensor_v2} describes it: storage, element offset, sizes and strides. */
    public record TensorRef(StorageRef storage, long offset, long[] shape, long[] stride) {
        /** True when the elements are laid out densely in row-major order (a zero-copy view is possible). */
        public boolean isContiguous() {
            long expected = 1;
            for (int i = shape.length - 1; i >= 0; i--) {
                if (shape[i] != 1 && stride[i] != expected) {
                    return false;
                }
                expected *= shape[i];
            }
            return true;
        }

        @Override
        public String toString() {
            return storage.dtype() + Arrays.toString(shape) + " stride " + Arrays.toString(stride) + " offset " + offset;
        }
    }

    /** Values, marks and memo entries one pickle may create; torch.save needs about 30 per tensor. */
    public static final int MAX_ITEMS = 1_000_000;
    /** Deepest nesting of lists, dicts and tuples; a state_dict needs 4. */
    public static final int MAX_DEPTH = 100;

    private record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    /** A Python tuple (kept apart from lists so that persistent ids and arguments are recognisable). */
    private record Tuple(List<Object> items, int depth) {}

    /**
     * A list or dict under construction. {@code nested} is set when it is placed inside another value; from then on
     * it is frozen, so its {@code depth} (1 + the deepest value it holds) stays true and no cycle can form.
     */
    private abstract static class Container {
        int depth = 1;
        boolean nested;
    }

    private static final class PList extends Container {
        final List<Object> items = new ArrayList<>();
    }

    private static final class PDict extends Container {
        final Map<String, Object> items = new LinkedHashMap<>();
    }

    private static final Tuple EMPTY_TUPLE = new Tuple(List.of(), 1);

    private static final Object MARK = new Object();
    private static final Object NONE = new Object();

    private static final Map<String, DType> STORAGES = Map.ofEntries(
            Map.entry("HalfStorage", DType.F16), Map.entry("BFloat16Storage", DType.BF16),
            Map.entry("FloatStorage", DType.F32), Map.entry("DoubleStorage", DType.F64),
            Map.entry("LongStorage", DType.I64), Map.entry("IntStorage", DType.I32),
            Map.entry("ShortStorage", DType.I16), Map.entry("CharStorage", DType.I8),
            Map.entry("ByteStorage", DType.U8), Map.entry("BoolStorage", DType.BOOL));
    private static final Set<String> CALLABLES = Set.of("collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter");

    private final String where;
    private final ByteBuffer in;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private int items;

    private SafePickleReader(String where, byte[] pickle) {
        this.where = where;
        this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Reads a pickled state_dict (a dict or OrderedDict of name to tensor/parameter).
     *
     * @param where names the file in error messages ("checkpoint pytorch_model-1-of-33.bin")
     */
    public static Map<String, TensorRef> readStateDict(byte[] pickle, String where) {
        Object root = new SafePickleReader(where, pickle).run();
        if (!(root instanceof PDict m)) {
            throw new Owl2jException(where + ": pickle does not hold a state_dict (a dict of tensors)");
        }
        Map<String, TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : m.items.entrySet()) {
            if (!(e.getValue() instanceof TensorRef t)) {
                throw new Owl2jException(where + ": state_dict entry " + printable(e.getKey()) + " is " + describe(e.getValue())
                        + ", not a tensor");
            }
            out.put(e.getKey(), t);
        }
        return out;
    }

    private Object run() {
        try {
            while (true) {
                int pos = in.position();
                int op = in.get() & 0xff;
                switch (op) {
                    case 0x80 -> { // PROTO
                        int proto = in.get() & 0xff;
                        if (proto > 5) fail("unsupported pickle protocol " + proto);
                    }
                    case 0x95 -> in.getLong(); // FRAME: framing is only a hint
                    case '.' -> { // STOP
                        return unwrap(pop());
                    }
                    case '(' -> {
                        count();
                        marks.add(stack.size());
                    }
                    case ')' -> push(EMPTY_TUPLE);
                    case 't' -> push(tuple(popToMark()));
                    case 0x85 -> push(tuple(List.of(pop())));
                    case 0x86 -> {
                        Object b = pop(), a = pop();
                        push(tuple(List.of(a, b)));
                    }
                    case 0x87 -> {
                        Object c = pop(), b = pop(), a = pop();
                        push(tuple(List.of(a, b, c)));
                    }
                    case '}' -> push(new PDict());
                    case ']' -> push(new PList());
                    case 'a' -> {
                        Object v = pop();
                        append(peek(), v);
                    }
                    case 'e' -> {
                        List<Object> vs = popToMark();
                        Object target = peek();
                        for (Object v : vs) append(target, v);
                    }
                    case 's' -> {
                        Object v = pop(), k = pop();
                        setItem(peek(), k, v);
                    }
                    case 'u' -> {
                        List<Object> kvs = popToMark();
                        if (kvs.size() % 2 != 0) fail("SETITEMS with an odd number of items");
                        Object target = peek();
                        for (int i = 0; i < kvs.size(); i += 2) setItem(target, kvs.get(i), kvs.get(i + 1));
                    }
                    case 'q' -> memoPut(in.get() & 0xff);
                    case 'r' -> memoPut(in.getInt() & 0xffffffffL);
                    case 0x94 -> memoPut(memo.size()); // MEMOIZE
                    case 'h' -> push(memoGet(in.get() & 0xff));
                    case 'j' -> push(memoGet(in.getInt() & 0xffffffffL));
                    case 'J' -> push((long) in.getInt());
                    case 'K' -> push((long) (in.get() & 0xff));
                    case 'M' -> push((long) (in.getShort() & 0xffff));
                    case 0x8a -> push(long1(in.get() & 0xff));
                    case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT is big-endian
                    case 'N' -> push(NONE);
                    case 0x88 -> push(Boolean.TRUE);
                    case 0x89 -> push(Boolean.FALSE);
                    case 'X' -> push(utf8(in.getInt() & 0xffffffffL));
                    case 0x8c -> push(utf8(in.get() & 0xff)); // SHORT_BINUNICODE
                    case 'c' -> push(global(line(), line()));
                    case 0x93 -> { // STACK_GLOBAL
                        Object name = pop(), module = pop();
                        if (!(module instanceof String m) || !(name instanceof String n)) {
                            fail("STACK_GLOBAL without string operands");
                            return null;
                        }
                        push(global(m, n));
                    }
                    case 'Q' -> push(persistentLoad(pop()));
                    case 'R' -> {
                        Object args = pop(), callable = pop();
                        push(reduce(callable, args));
                    }
                    case 'b' -> { // BUILD: only the attribute dict torch attaches to OrderedDict (_metadata)
                        Object state = pop();
                        Object target = peek();
                        if (!(target instanceof PDict) || !(state instanceof PDict || state == NONE)) {
                            fail("unsupported BUILD on " + describe(target));
                        }
                    }
                    default -> fail(String.format("unsupported pickle opcode 0x%02x at byte %d", op, pos));
                }
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new Owl2jException(where + ": pickle data is truncated");
        }
    }

    private Global global(String module, String name) {
        Global g = new Global(module, name);
        boolean storage = module.equals("torch") && STORAGES.containsKey(name);
        if (!storage && !CALLABLES.contains(g.qualified())) {
            throw new Owl2jException(where + ": refusing to load pickle global " + printable(g.qualified()));
        }
        return g;
    }

    private Object persistentLoad(Object pid) {
        if (!(pid instanceof Tuple t) || t.items().size() != 5 || !"storage".equals(t.items().get(0))
                || !(t.items().get(1) instanceof Global type) || !(t.items().get(2) instanceof String key)
                || !(t.items().get(3) instanceof String location) || !(t.items().get(4) instanceof Long numel)) {
            fail("unsupported persistent id " + describe(pid) + " (expected ('storage', type, key, location, numel))");
            return null;
        }
        DType dtype = STORAGES.get(type.name());
        if (dtype == null || !type.module().equals("torch")) {
            fail("persistent id names " + type.qualified() + ", not a storage type");
        }
        if (numel < 0) fail("storage " + printable(key) + " has negative size " + numel);
        return new StorageRef(key, dtype, location, numel);
    }

    private Object reduce(Object callable, Object argsObj) {
        if (!(callable instanceof Global g) || !(argsObj instanceof Tuple(List<Object> args, int ignored))) {
            fail("REDUCE of " + describe(callable) + " is not supported");
            return null;
        }
        switch (g.qualified()) {
            case "collections.OrderedDict" -> {
                if (!args.isEmpty()) fail("collections.OrderedDict called with arguments");
                return new PDict();
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (args.size() < 4 || !(args.get(0) instanceof StorageRef s) || !(args.get(1) instanceof Long off)) {
                    fail("malformed _rebuild_tensor_v2 arguments");
                    return null;
                }
                long[] shape = longs(args.get(2), "size");
                long[] stride = longs(args.get(3), "stride");
                if (shape.length != stride.length) fail("tensor size and stride ranks differ");
                return new TensorRef(s, off, shape, stride);
            }
            case "torch._utils._rebuild_parameter" -> {
                // (data, requires_grad, backward_hooks): a Parameter is its tensor for inference
                if (args.isEmpty() || !(args.get(0) instanceof TensorRef t)) {
                    fail("malformed _rebuild_parameter arguments");
                    return null;
                }
                return t;
            }
            default -> {
                fail("refusing to call pickle global " + g.qualified());
                return null;
            }
        }
    }

    private long[] longs(Object o, String what) {
        if (!(o instanceof Tuple(List<Object> items, int ignored))) {
            fail("tensor " + what + " is not a tuple");
            return null;
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(items.get(i) instanceof Long v) || v < 0) {
                fail("tensor " + what + " holds " + describe(items.get(i)) + ", not a non-negative integer");
                return null;
            }
            out[i] = v;
        }
        return out;
    }

    private long long1(int n) {
        if (n > 8) fail("integer of " + n + " bytes is too large");
        long v = 0;
        for (int i = 0; i < n; i++) v |= (in.get() & 0xffL) << (8 * i);
        if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) v -= 1L << (8 * n); // two's complement sign
        return v;
    }

    private String utf8(long len) {
        if (len > in.remaining()) fail("string of " + len + " bytes runs past the end of the pickle");
        byte[] b = new byte[(int) len];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private String line() {
        StringBuilder sb = new StringBuilder();
        while (true) {
            byte b = in.get();
            if (b == '\n') return sb.toString();
            if (sb.length() > 256) fail("GLOBAL name too long");
            sb.append((char) (b & 0xff));
        }
    }

    private Object memoGet(long key) {
        Object v = memo.get(key);
        if (v == null) fail("pickle refers to memo entry " + key + " that was never stored");
        return v;
    }

    private void memoPut(long key) {
        Object v = peek();
        count();
        memo.put(key, v);
    }

    /** Every value pushed, mark set and memo entry stored counts towards {@link #MAX_ITEMS}. */
    private void count() {
        if (++items > MAX_ITEMS) {
            fail("pickle creates more than " + MAX_ITEMS + " values (a state_dict needs about 30 per tensor)");
        }
    }

    private void push(Object o) {
        count();
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty() || (!marks.isEmpty() && marks.getLast() == stack.size())) fail("pickle stack underflow");
        return stack.removeLast();
    }

    private Object peek() {
        if (stack.isEmpty()) fail("pickle stack underflow");
        return stack.getLast();
    }

    private List<Object> popToMark() {
        if (marks.isEmpty()) fail("pickle MARK missing");
        int m = marks.removeLast();
        List<Object> sub = stack.subList(m, stack.size());
        List<Object> out = new ArrayList<>(sub);
        sub.clear();
        return out;
    }

    private Tuple tuple(List<Object> values) {
        int depth = 1;
        for (Object v : values) depth = Math.max(depth, nest(v) + 1);
        checkDepth(depth);
        return new Tuple(List.copyOf(values), depth);
    }

    private void append(Object target, Object v) {
        if (!(target instanceof PList l)) {
            fail("APPEND to " + describe(target));
            return;
        }
        grow(l, v);
        l.items.add(v);
    }

    private void setItem(Object target, Object k, Object v) {
        if (!(target instanceof PDict d)) {
            fail("SETITEM on " + describe(target));
            return;
        }
        if (!(k instanceof String key)) {
            fail("dict key is " + describe(k) + "; only string keys are accepted");
            return;
        }
        grow(d, v);
        d.items.put(key, v);
    }

    /** Places {@code v} inside {@code c}: c must still be open, v is frozen, and c's depth grows to cover it. */
    private void grow(Container c, Object v) {
        if (c.nested || v == c) {
            fail("pickle changes a container after placing it inside another value (a self-referencing structure)");
        }
        c.depth = Math.max(c.depth, nest(v) + 1);
        checkDepth(c.depth);
    }

    /** Freezes a container that is being placed inside another value; returns the nesting depth of {@code v}. */
    private static int nest(Object v) {
        if (v instanceof Container c) {
            c.nested = true;
            return c.depth;
        }
        if (v instanceof Tuple t) return t.depth();
        return 0;
    }

    private void checkDepth(int depth) {
        if (depth > MAX_DEPTH) fail("pickle nests containers more than " + MAX_DEPTH + " deep");
    }

    private static Object unwrap(Object o) {
        return o == NONE ? null : o;
    }

    /** A short name for a value in an error message; never walks into containers. */
    private static String describe(Object o) {
        if (o instanceof Global g) return g.qualified();
        if (o instanceof Tuple t) return "a tuple of " + t.items().size();
        if (o instanceof PList l) return "a list of " + l.items.size();
        if (o instanceof PDict d) return "a dict of " + d.items.size();
        if (o instanceof String str) return "the string '" + printable(str) + "'";
        if (o instanceof Long || o instanceof Double || o instanceof Boolean) return "the number " + o;
        if (o instanceof TensorRef) return "a tensor";
        if (o instanceof StorageRef) return "a storage";
        return o == null || o == NONE ? "None" : o.getClass().getSimpleName();
    }

    /** A name for a one-line message: control characters escaped as \xNN, at most 200 characters. */
    public static String printable(String s) {
        return escape(s.length() > 200 ? s.substring(0, 200) + "..." : s);
    }

    /** Control characters (C0, DEL, C1, line and paragraph separators) as \\xNN or \\uNNNN. */
    static String escape(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029;
            if (control && sb == null) sb = new StringBuilder(s.substring(0, i));
            if (sb != null) {
                if (!control) sb.append(c);
                else sb.append(c < 0x100 ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
            }
        }
        return sb == null ? s : sb.toString();
    }

    /** Every refusal: names from the pickle may hold any character, so the whole line is escaped once more. */
    private void fail(String msg) {
        throw new Owl2jException(where + ": " + escape(msg));
    }
}
