package dev.owl2j.runtime.generation.json;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An incremental JSON matcher over bytes, driven by compiled {@link Shape}s: a pushdown automaton whose stack
 * frames are small immutable records, so a state is a value (comparable, hashable: the mask cache's key) and
 * advancing never changes the state it starts from (the vocabulary walk tries many bytes from one state).
 * Alternatives (anyOf, a list of types) make a state a small set of stacks; they are told apart within a byte
 * or two.
 *
 * <p>What it accepts is strict JSON with bounded whitespace ({@link #MAX_WHITESPACE} bytes per gap, none after
 * the value) and bounded numbers (at most 15 integer and 15 fraction digits, 2 exponent digits), so that every
 * accepted text is valid and a short completion always exists. Strings must be valid UTF-8 with JSON escapes.
 * Each state knows the fewest bytes that complete it ({@link State#distance}), which lets generation finish the
 * value before its token budget runs out.
 *
 * <p>Over 500 lines because the automaton is one closed set of frame types (value, object, array, string, number,
 * literal, end), each with its byte transition and its completion distance; spread over files, a change to one
 * construct's grammar would need the others open beside it.
 */
final class JsonMatcher {
    static final int MAX_WHITESPACE = 12;
    static final int MAX_DIGITS = 15;
    static final int MAX_EXPONENT_DIGITS = 2;

    private JsonMatcher() {}

    /** The start: a value of {@code root}, then nothing. */
    static State start(Shape root) {
        return new State(new Stack[]{new Stack(new ValueF(root, 0), new Stack(EndF.END, null))});
    }

    // ---------------------------------------------------------------- states

    /** A persistent stack of frames, top first; hash cached (states are map keys). */
    static final class Stack {
        final Frame head;
        final Stack tail;
        final int hash;

        Stack(Frame head, Stack tail) {
            this.head = head;
            this.tail = tail;
            this.hash = head.hashCode() * 31 + (tail == null ? 0 : tail.hash);
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) return true;
            if (!(o instanceof Stack other) || other.hash != hash) return false;
            Stack a = this, b = other;
            while (a != null && b != null) {
                if (a == b) return true;
                if (a.hash != b.hash || !a.head.equals(b.head)) return false;
                a = a.tail;
                b = b.tail;
            }
            return a == b;
        }

        @Override
        public int hashCode() {
            return hash;
        }

        Stack replace(Frame f) {
            return f == head ? this : new Stack(f, tail);
        }
    }

    /** The stacks the input so far may be in (usually one). */
    static final class State {
        final Stack[] alternatives;
        private final int hash;
        private int distance = -1;

        State(Stack[] alternatives) {
            this.alternatives = alternatives;
            this.hash = Arrays.hashCode(alternatives);
        }

        /** The state after byte {@code b}, or null when no JSON of the schema continues that way. */
        State advance(int b) {
            return advance(b, new ArrayList<>(2));
        }

        /**
         * As {@link #advance(int)}, collecting into {@code scratch} (cleared first; a walk over the vocabulary reuses
         * one). A byte that leaves the state as it was (a plain character inside a free string) returns this state
         * itself, so walking a string's tokens allocates nothing.
         */
        State advance(int b, List<Stack> scratch) {
            scratch.clear();
            for (Stack s : alternatives) step(s, b, scratch);
            int n = scratch.size();
            if (n == 0) return null;
            if (n == 1 && alternatives.length == 1 && scratch.get(0) == alternatives[0]) return this;
            if (n > 1) {
                for (int i = n - 1; i > 0; i--) {
                    Stack x = scratch.get(i);
                    for (int j = 0; j < i; j++) {
                        if (scratch.get(j).equals(x)) {
                            scratch.remove(i);
                            break;
                        }
                    }
                }
            }
            return new State(scratch.toArray(Stack[]::new));
        }

        /** True when the input is a complete value (nothing must follow; the end of the text may come). */
        boolean canEnd() {
            for (Stack s : alternatives) {
                Stack x = s;
                while (x.head.finishable()) x = x.tail;
                if (x.head == EndF.END) return true;
            }
            return false;
        }

        /** The fewest bytes that complete the value from here (0 when it can end now). */
        int distance() {
            if (distance < 0) {
                long best = Shape.INFINITE;
                for (Stack s : alternatives) {
                    long d = 0;
                    for (Stack x = s; x != null; x = x.tail) d += x.head.cost();
                    best = Math.min(best, d);
                }
                distance = SchemaCompiler.sat(best);
            }
            return distance;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof State other && other.hash == hash && Arrays.equals(alternatives, other.alternatives);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    // ---------------------------------------------------------------- frames

    /** One level of the value being written. */
    sealed interface Frame permits ValueF, StrF, NumF, LitF, ObjF, ArrF, EndF {
        /** Fewest bytes that complete this frame (not counting the frames below it). */
        int cost();

        /** True when the frame may end here without another byte (a number, a matched literal). */
        default boolean finishable() {
            return false;
        }
    }

    /** Below the root value: nothing more may come. */
    enum EndF implements Frame {
        END;

        @Override
        public int cost() {
            return 0;
        }
    }

    /** A value of {@code shape} is expected; {@code ws} whitespace bytes came before it. */
    record ValueF(Shape shape, int ws) implements Frame {
        @Override
        public int cost() {
            return shape.minLength;
        }
    }

    /**
     * Inside a string (after its opening quote). {@code shape} null: no length limits (the length is then not
     * tracked, so the states of a long string repeat). {@code pending}: UTF-8 continuation bytes still due, the
     * next in [lo, hi]; {@code escape}: 0 none, 1 after a backslash, 2-5 hex digits of a \\u escape due + 1.
     */
    record StrF(Shape.Str shape, int length, int pending, int lo, int hi, int escape) implements Frame {
        static final StrF FREE = new StrF(null, 0, 0, 0, 0, 0);

        @Override
        public int cost() {
            int due = shape == null ? 0 : Math.max(0, shape.min - length);
            return 1 + due + pending + (escape == 0 ? 0 : escape == 1 ? 1 : escape - 1);
        }

        /** The next frame, CLOSED when the closing quote ends the string, or null. */
        Frame feed(int b) {
            if (pending > 0) {
                if (b < lo || b > hi) return null;
                return shape == null && pending == 1 ? FREE : new StrF(shape, length, pending - 1, 0x80, 0xbf, 0);
            }
            if (escape == 1) {
                if (b == 'u') return new StrF(shape, length, 0, 0, 0, 5);
                return "\"\\/bfnrt".indexOf(b) >= 0 ? counted(0, 0, 0) : null;
            }
            if (escape >= 2) {
                if (!isHex(b)) return null;
                return escape == 2 ? counted(0, 0, 0) : new StrF(shape, length, 0, 0, 0, escape - 1);
            }
            if (b == '"') return shape == null || length >= shape.min ? CLOSED : null;
            if (shape != null && length >= shape.max) return null;
            if (b == '\\') return new StrF(shape, length, 0, 0, 0, 1);
            if (b < 0x20) return null;
            if (b < 0x80) return counted(0, 0, 0);
            if (b >= 0xc2 && b <= 0xdf) return counted(1, 0x80, 0xbf);
            if (b == 0xe0) return counted(2, 0xa0, 0xbf);
            if (b == 0xed) return counted(2, 0x80, 0x9f);
            if (b >= 0xe1 && b <= 0xef) return counted(2, 0x80, 0xbf);
            if (b == 0xf0) return counted(3, 0x90, 0xbf);
            if (b >= 0xf1 && b <= 0xf3) return counted(3, 0x80, 0xbf);
            if (b == 0xf4) return counted(3, 0x80, 0x8f);
            return null;
        }

        /** One more character (its first byte or its whole escape), with {@code pending} bytes still due. */
        private StrF counted(int pending, int lo, int hi) {
            if (shape == null && pending == 0) return FREE; // free strings do not track their length
            return new StrF(shape, shape == null ? 0 : length + 1, pending, lo, hi, 0);
        }
    }

    /** Marks a string closed by its quote (the frame is popped). */
    static final Frame CLOSED = new LitF(null, 0, 0, -1);

    /**
     * Inside a number. States: 0 after '-', 1 after a leading 0, 2 integer digits, 3 after '.', 4 fraction digits,
     * 5 after 'e', 6 after the exponent's sign, 7 exponent digits; {@code digits} counts the current part.
     */
    record NumF(boolean integer, int state, int digits) implements Frame {
        static NumF start(boolean integer, int b) {
            if (b == '-') return new NumF(integer, 0, 0);
            if (b == '0') return new NumF(integer, 1, 1);
            if (b >= '1' && b <= '9') return new NumF(integer, 2, 1);
            return null;
        }

        NumF feed(int b) {
            boolean digit = b >= '0' && b <= '9';
            boolean e = (b == 'e' || b == 'E') && !integer;
            return switch (state) {
                case 0 -> b == '0' ? new NumF(integer, 1, 1) : digit ? new NumF(integer, 2, 1) : null;
                case 1 -> b == '.' && !integer ? new NumF(integer, 3, 0) : e ? new NumF(integer, 5, 0) : null;
                case 2 -> digit && digits < MAX_DIGITS ? new NumF(integer, 2, digits + 1)
                        : b == '.' && !integer ? new NumF(integer, 3, 0) : e ? new NumF(integer, 5, 0) : null;
                case 3 -> digit ? new NumF(integer, 4, 1) : null;
                case 4 -> digit && digits < MAX_DIGITS ? new NumF(integer, 4, digits + 1) : e ? new NumF(integer, 5, 0) : null;
                case 5 -> b == '+' || b == '-' ? new NumF(integer, 6, 0) : digit ? new NumF(integer, 7, 1) : null;
                case 6 -> digit ? new NumF(integer, 7, 1) : null;
                case 7 -> digit && digits < MAX_EXPONENT_DIGITS ? new NumF(integer, 7, digits + 1) : null;
                default -> null;
            };
        }

        @Override
        public boolean finishable() {
            return state == 1 || state == 2 || state == 4 || state == 7;
        }

        @Override
        public int cost() {
            return finishable() ? 0 : 1;
        }
    }

    /** Partway through one of a set of literals: those in [from, to) match the first {@code pos} bytes. */
    record LitF(Shape.Literals values, int from, int to, int pos) implements Frame {
        LitF feed(int b) {
            long r = values.narrow(from, to, pos, b);
            return r < 0 ? null : new LitF(values, (int) (r >>> 32), (int) r, pos + 1);
        }

        @Override
        public boolean finishable() {
            return values != null && values.completeAt(from, to, pos) >= 0;
        }

        @Override
        public int cost() {
            return values == null ? 0 : values.shortestRest(from, to, pos);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof LitF l && l.values == values && l.from == from && l.to == to && l.pos == pos;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(values) * 31 * 31 * 31 + from * 31 * 31 + to * 31 + pos;
        }
    }

    /** Object phases. */
    static final int OPEN = 0, KEY = 1, COLON = 2, AFTER_VALUE = 3, NEXT_KEY = 4;

    /**
     * Inside an object. {@code next}: the first property not yet written (key tables start there); in KEY,
     * [from, to) and {@code pos} locate the partial key in {@code shape.keys[next]}; in COLON and AFTER_VALUE,
     * {@code next} is the property just written + 1. Free objects use OPEN, COLON (the key was a string frame),
     * AFTER_VALUE and NEXT_KEY.
     */
    record ObjF(Shape.Obj shape, int phase, int next, int from, int to, int pos, int ws) implements Frame {
        @Override
        public int cost() {
            if (shape.free) {
                return switch (phase) {
                    case OPEN, AFTER_VALUE -> 1;
                    case COLON -> 3;          // :0}
                    default -> 5;             // "":0}
                };
            }
            return switch (phase) {
                case OPEN -> Math.min(shape.requiredFrom(0) ? Shape.INFINITE : 1, shape.key[0]);
                case KEY -> {
                    Shape.Literals t = shape.keys[next];
                    long best = Shape.INFINITE;
                    for (int c = from; c < to; c++) {
                        int j = t.payload[c];
                        best = Math.min(best, (long) t.values[c].length - pos + 1 + shape.properties.get(j).shape().minLength + shape.close[j + 1]);
                    }
                    yield SchemaCompiler.sat(best);
                }
                case COLON -> SchemaCompiler.sat(1L + shape.properties.get(next - 1).shape().minLength + shape.close[next]);
                case AFTER_VALUE -> shape.close[next];
                default -> shape.key[next];
            };
        }

        ObjF phase(int phase, int next) {
            return new ObjF(shape, phase, next, 0, 0, 0, 0);
        }
    }

    /** Array phases. */
    static final int ITEM_OR_CLOSE = 0, AFTER_ITEM = 1, NEXT_ITEM = 2;

    /** Inside an array; {@code count}: items written (capped where larger counts change nothing). */
    record ArrF(Shape.Arr shape, int phase, int count, int ws) implements Frame {
        @Override
        public int cost() {
            long item = shape.items.minLength;
            long after = 1 + Math.max(0, shape.min - count) * (1 + item);
            return SchemaCompiler.sat(switch (phase) {
                case ITEM_OR_CLOSE -> shape.min == 0 ? 1 : shape.min * item + shape.min - 1 + 1;
                case AFTER_ITEM -> after;
                default -> item + 1 + Math.max(0, shape.min - count - 1) * (1 + item);
            });
        }

        /** The count after one more item: exact up to max, else capped at min (larger counts behave alike). */
        int plusOne() {
            return shape.max < Shape.INFINITE ? count + 1 : Math.min(count + 1, shape.min);
        }
    }

    // ---------------------------------------------------------------- transitions

    static boolean isWhitespace(int b) {
        return b == ' ' || b == '\n' || b == '\t' || b == '\r';
    }

    private static boolean isHex(int b) {
        return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
    }

    private static final Shape.Literals FREE_LITERALS = SchemaCompiler.literalsOf(List.of("false", "null", "true"));
    private static final Shape.Obj FREE_OBJECT = freeObject();
    private static final Shape.Arr FREE_ARRAY = new Shape.Arr(Shape.ANY, 0, Shape.INFINITE);

    private static Shape.Obj freeObject() {
        Shape.Obj o = new Shape.Obj(true, List.of());
        o.minLength = 2;
        return o;
    }

    /** Every stack {@code st} can be in after byte {@code b}, added to {@code out}. */
    static void step(Stack st, int b, List<Stack> out) {
        Frame f = st.head;
        switch (f) {
            case ValueF v -> {
                if (isWhitespace(b)) {
                    if (v.ws() < MAX_WHITESPACE) out.add(st.replace(new ValueF(v.shape(), v.ws() + 1)));
                } else {
                    begin(v.shape(), b, st.tail, out);
                }
            }
            case StrF s -> {
                Frame n = s.feed(b);
                if (n == CLOSED) out.add(st.tail);
                else if (n != null) out.add(st.replace(n));
            }
            case NumF n -> {
                NumF m = n.feed(b);
                if (m != null) out.add(st.replace(m));
                if (n.finishable()) step(st.tail, b, out); // the number ended: the byte belongs to what follows
            }
            case LitF l -> {
                LitF m = l.feed(b);
                if (m != null) out.add(st.replace(m));
                if (l.finishable()) step(st.tail, b, out);
            }
            case ObjF o -> object(o, b, st, out);
            case ArrF a -> array(a, b, st, out);
            case EndF e -> {
                // nothing may follow the value
            }
        }
    }

    /** The first byte of a value of {@code shape}, with {@code tail} below it. */
    static void begin(Shape shape, int b, Stack tail, List<Stack> out) {
        switch (shape) {
            case Shape.Any a -> {
                if (b == '{') out.add(new Stack(new ObjF(FREE_OBJECT, OPEN, 0, 0, 0, 0, 0), tail));
                else if (b == '[') out.add(new Stack(new ArrF(FREE_ARRAY, ITEM_OR_CLOSE, 0, 0), tail));
                else if (b == '"') out.add(new Stack(StrF.FREE, tail));
                else {
                    NumF n = NumF.start(false, b);
                    if (n != null) out.add(new Stack(n, tail));
                    else literal(FREE_LITERALS, b, tail, out);
                }
            }
            case Shape.Obj o -> {
                if (b == '{') out.add(new Stack(new ObjF(o, OPEN, 0, 0, 0, 0, 0), tail));
            }
            case Shape.Arr a -> {
                if (b == '[') out.add(new Stack(new ArrF(a, ITEM_OR_CLOSE, 0, 0), tail));
            }
            case Shape.Str s -> {
                if (b == '"') out.add(new Stack(s.free() ? StrF.FREE : new StrF(s, 0, 0, 0, 0, 0), tail));
            }
            case Shape.Num n -> {
                NumF x = NumF.start(n.integer, b);
                if (x != null) out.add(new Stack(x, tail));
            }
            case Shape.Lit l -> literal(l.values, b, tail, out);
            case Shape.AnyOf o -> {
                for (Shape alt : o.alternatives) begin(alt, b, tail, out);
            }
            case Shape.Ref r -> begin(r.target, b, tail, out);
        }
    }

    private static void literal(Shape.Literals values, int b, Stack tail, List<Stack> out) {
        LitF l = new LitF(values, 0, values.size(), 0).feed(b);
        if (l != null) out.add(new Stack(l, tail));
    }

    private static void object(ObjF o, int b, Stack st, List<Stack> out) {
        Shape.Obj shape = o.shape();
        if (o.phase() == KEY) {
            Shape.Literals t = shape.keys[o.next()];
            long r = t.narrow(o.from(), o.to(), o.pos(), b);
            if (r < 0) return;
            int from = (int) (r >>> 32), to = (int) r;
            int done = t.completeAt(from, to, o.pos() + 1);
            // Keys are quoted strings: one ends only at its closing quote, which no other key continues.
            if (done >= 0) out.add(st.replace(o.phase(COLON, t.payload[done] + 1)));
            else out.add(st.replace(new ObjF(shape, KEY, o.next(), from, to, o.pos() + 1, 0)));
            return;
        }
        if (isWhitespace(b)) {
            if (o.ws() < MAX_WHITESPACE) out.add(st.replace(new ObjF(shape, o.phase(), o.next(), o.from(), o.to(), o.pos(), o.ws() + 1)));
            return;
        }
        switch (o.phase()) {
            case OPEN, NEXT_KEY -> {
                if (b == '}' && o.phase() == OPEN && (shape.free || !shape.requiredFrom(0))) {
                    out.add(st.tail);
                } else if (b == '"') {
                    if (shape.free) {
                        out.add(new Stack(StrF.FREE, st.replace(o.phase(COLON, 0))));
                    } else if (shape.keys[o.next()].size() > 0) {
                        Shape.Literals t = shape.keys[o.next()];
                        out.add(st.replace(new ObjF(shape, KEY, o.next(), 0, t.size(), 1, 0))); // every key starts with '"'
                    }
                }
            }
            case COLON -> {
                if (b == ':') {
                    Shape value = shape.free ? Shape.ANY : shape.properties.get(o.next() - 1).shape();
                    out.add(new Stack(new ValueF(value, 0), st.replace(o.phase(AFTER_VALUE, o.next()))));
                }
            }
            case AFTER_VALUE -> {
                if (b == ',' && (shape.free || o.next() < shape.properties.size())) {
                    out.add(st.replace(o.phase(NEXT_KEY, o.next())));
                } else if (b == '}' && (shape.free || !shape.requiredFrom(o.next()))) {
                    out.add(st.tail);
                }
            }
            default -> throw new IllegalStateException("object phase " + o.phase());
        }
    }

    private static void array(ArrF a, int b, Stack st, List<Stack> out) {
        Shape.Arr shape = a.shape();
        if (isWhitespace(b)) {
            if (a.ws() < MAX_WHITESPACE) out.add(st.replace(new ArrF(shape, a.phase(), a.count(), a.ws() + 1)));
            return;
        }
        switch (a.phase()) {
            case ITEM_OR_CLOSE, NEXT_ITEM -> {
                if (b == ']' && a.phase() == ITEM_OR_CLOSE && shape.min == 0) {
                    out.add(st.tail);
                } else if (shape.max > a.count()) {
                    begin(shape.items, b, st.replace(new ArrF(shape, AFTER_ITEM, a.plusOne(), 0)), out);
                }
            }
            case AFTER_ITEM -> {
                if (b == ',' && a.count() < shape.max) out.add(st.replace(new ArrF(shape, NEXT_ITEM, a.count(), 0)));
                else if (b == ']' && a.count() >= shape.min) out.add(st.tail);
            }
            default -> throw new IllegalStateException("array phase " + a.phase());
        }
    }
}
