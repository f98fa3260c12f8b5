package dev.owl2j.runtime.generation.json;

import java.util.Arrays;
import java.util.List;

/**
 * A compiled JSON schema node: what a value at one place may look like. Shapes are compared by identity (each
 * is made once per compiled schema), so the matcher's states can use them as cache keys cheaply.
 * {@link #minLength} is the fewest bytes of a value of the shape, filled in by {@link SchemaCompiler}.
 */
abstract sealed class Shape permits Shape.Any, Shape.Obj, Shape.Arr, Shape.Str, Shape.Num, Shape.Lit, Shape.AnyOf, Shape.Ref {
    /** Stands for "no finite value" while lengths are computed. */
    static final int INFINITE = Integer.MAX_VALUE / 4;

    int minLength = INFINITE;

    /** Any JSON value (a schema of {} or true, an array's missing items, a free object's values). */
    static final class Any extends Shape {
        Any() {
            minLength = 1; // 0
        }
    }

    /** The values of free objects and the items of arrays without "items". */
    static final Any ANY = new Any();

    /**
     * An object. With properties, they are written in the schema's order, each optional one possibly skipped and
     * no other key written (a subset of what the schema allows, so the output is valid). Without properties
     * ({@code free}) any keys with any values.
     */
    static final class Obj extends Shape {
        final boolean free;
        final List<Property> properties;
        /** keys[i]: the properties that may come next when the next unwritten one is i, as quoted key literals. */
        Literals[] keys;
        /** close[i]: fewest bytes to end the object after a value when property i is the next unwritten one. */
        int[] close;
        /** key[i]: fewest bytes to end the object when a key must be written and property i is the next unwritten one. */
        int[] key;

        Obj(boolean free, List<Property> properties) {
            this.free = free;
            this.properties = properties;
        }

        boolean requiredFrom(int index) {
            for (int i = index; i < properties.size(); i++) if (properties.get(i).required()) return true;
            return false;
        }
    }

    record Property(String name, Shape shape, boolean required) {}

    /** An array of {@code items}, from {@code min} to {@code max} of them. */
    static final class Arr extends Shape {
        final Shape items;
        final int min;
        final int max;

        Arr(Shape items, int min, int max) {
            this.items = items;
            this.min = min;
            this.max = max;
        }
    }

    /** A string of {@code min} to {@code max} characters (escapes and UTF-8 sequences count as one). */
    static final class Str extends Shape {
        final int min;
        final int max;

        Str(int min, int max) {
            this.min = min;
            this.max = max;
        }

        boolean free() {
            return min == 0 && max == INFINITE;
        }
    }

    /** A number, or an integer (written without fraction or exponent). */
    static final class Num extends Shape {
        final boolean integer;

        Num(boolean integer) {
            this.integer = integer;
        }
    }

    /** One of a fixed set of serialized values: enum, const, true/false, null. */
    static final class Lit extends Shape {
        final Literals values;

        Lit(Literals values) {
            this.values = values;
        }
    }

    /** Any of the alternatives (anyOf, or a list of types). */
    static final class AnyOf extends Shape {
        final List<Shape> alternatives;

        AnyOf(List<Shape> alternatives) {
            this.alternatives = alternatives;
        }
    }

    /** A {@code $ref} to a definition, resolved after compiling (definitions may refer to themselves). */
    static final class Ref extends Shape {
        final String pointer;
        Shape target;

        Ref(String pointer) {
            this.pointer = pointer;
        }
    }

    /**
     * Byte strings sorted as unsigned bytes, each with a payload (a property index for keys). Those that share a
     * prefix form one contiguous range, so a partial match is a range and a position.
     */
    static final class Literals {
        final byte[][] values;
        final int[] payload;

        Literals(List<byte[]> values, List<Integer> payload) {
            Integer[] order = new Integer[values.size()];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Arrays.compareUnsigned(values.get(a), values.get(b)));
            this.values = new byte[order.length][];
            this.payload = new int[order.length];
            for (int i = 0; i < order.length; i++) {
                this.values[i] = values.get(order[i]);
                this.payload[i] = payload.get(order[i]);
            }
        }

        int size() {
            return values.length;
        }

        /** The sub-range of [from, to) whose values have {@code b} at {@code pos}, as from << 32 | to; -1 if none. */
        long narrow(int from, int to, int pos, int b) {
            int f = -1, t = -1;
            for (int i = from; i < to; i++) {
                byte[] v = values[i];
                if (v.length > pos && (v[pos] & 0xff) == b) {
                    if (f < 0) f = i;
                    t = i + 1;
                } else if (f >= 0) {
                    break;
                }
            }
            return f < 0 ? -1 : ((long) f << 32) | t;
        }

        /** The value in [from, to) that ends at {@code pos}, or -1 (the shortest sorts first). */
        int completeAt(int from, int to, int pos) {
            return from < to && values[from].length == pos ? from : -1;
        }

        int shortestRest(int from, int to, int pos) {
            int best = INFINITE;
            for (int i = from; i < to; i++) best = Math.min(best, values[i].length - pos);
            return best;
        }
    }
}
