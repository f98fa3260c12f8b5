package dev.owl2j.kernels.compiler.ir;

/**
 * A fixed-length array declared by a function: LOCAL (work-group shared, from allocate*LocalArray, declared in
 * the kernel itself) or PRIVATE (per work-item, from {@code new float[CONSTANT]}).
 */
public final class ArrayDecl {
    private String name;
    private final Type.Prim elem;
    private final Type.Space space;
    private final int length;

    public ArrayDecl(String name, Type.Prim elem, Type.Space space, int length) {
        this.name = name;
        this.elem = elem;
        this.space = space;
        this.length = length;
    }

    public String name() {
        return name;
    }

    public void rename(String n) {
        name = n;
    }

    public Type.Prim elem() {
        return elem;
    }

    public Type.Space space() {
        return space;
    }

    public int length() {
        return length;
    }

    public Type.ArrayType type() {
        return new Type.ArrayType(elem, space);
    }
}
