package dev.owl2j.kernels.compiler.ir;

/**
 * A named storage location of one function: a parameter, a Java local variable (named as in the class file's
 * local variable table) or a temporary the compiler introduced (name starting with '$' before renaming). Identity
 * matters, not the name: two Java locals named {@code i} in different scopes are two variables, and the
 * emitters make names unique per function.
 */
public final class Variable {
    public enum Kind { PARAM, LOCAL, TEMP, SIZE }

    private String name;
    private final Type type;
    private final Kind kind;
    /** For SIZE variables: the array parameter whose element count this is (Java getSize()). */
    private final Variable sizeOf;

    public Variable(String name, Type type, Kind kind) {
        this(name, type, kind, null);
    }

    private Variable(String name, Type type, Kind kind, Variable sizeOf) {
        this.name = name;
        this.type = type;
        this.kind = kind;
        this.sizeOf = sizeOf;
    }

    /** The hidden int parameter carrying the element count of an array parameter. */
    public static Variable sizeOf(Variable array) {
        return new Variable(array.name() + "_size", Type.Prim.INT, Kind.SIZE, array);
    }

    public String name() {
        return name;
    }

    public void rename(String n) {
        this.name = n;
    }

    public Type type() {
        return type;
    }

    public Kind kind() {
        return kind;
    }

    public Variable sizeOf() {
        return sizeOf;
    }

    @Override
    public String toString() {
        return name;
    }
}
