package dev.owl2j.kernels.compiler.ir;

/**
 * Types of IR values: a primitive ({@link Prim}) or a pointer to elements in a memory space ({@link ArrayType}).
 * Values computed in expressions are always BOOL, INT, LONG, FLOAT or DOUBLE (Java's stack types); BYTE, SHORT
 * and CHAR exist only as array elements and as the targets of narrowing conversions.
 */
public sealed interface Type permits Type.Prim, Type.ArrayType {
    enum Prim implements Type {
        VOID, BOOL, BYTE, SHORT, CHAR, INT, LONG, FLOAT, DOUBLE;

        public boolean isFloating() {
            return this == FLOAT || this == DOUBLE;
        }

        public boolean isIntegral() {
            return this == INT || this == LONG || this == BYTE || this == SHORT || this == CHAR;
        }

        /** Bytes of one element of this type in memory. */
        public int bytes() {
            return switch (this) {
                case BYTE, BOOL -> 1;
                case SHORT, CHAR -> 2;
                case INT, FLOAT -> 4;
                case LONG, DOUBLE -> 8;
                case VOID -> 0;
            };
        }
    }

    /** Where an array lives: kernel array parameters are GLOBAL, allocate*LocalArray is LOCAL, new T[n] is PRIVATE. */
    enum Space { GLOBAL, LOCAL, PRIVATE }

    /** A pointer to elements of elem in space (a kernel's FloatArray parameter is GLOBAL FLOAT). */
    record ArrayType(Prim elem, Space space) implements Type {
        @Override
        public String toString() {
            return space.name().toLowerCase() + " " + elem.name().toLowerCase() + "[]";
        }
    }
}
