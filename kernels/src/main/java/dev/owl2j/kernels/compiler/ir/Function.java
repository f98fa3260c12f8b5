package dev.owl2j.kernels.compiler.ir;

import java.util.ArrayList;
import java.util.List;

/**
 * One compiled Java method: a kernel (an entry point a launch names) or a device function it calls. A helper
 * method called with arrays of different memory spaces becomes one Function per combination.
 *
 * <p>Kernel parameters: {@link #params()} are the Java parameters in order with the KernelContext left out
 * (array parameters are GLOBAL pointers, int/long/float/double parameters scalars); then one hidden INT per array
 * parameter whose {@code getSize()} the kernel reads ({@link #sizeParams()}), filled in by the launch from the
 * buffer's size.
 */
public final class Function {
    private final String javaClass;
    private final String javaMethod;
    private final String sourceFile;
    private final boolean kernel;
    private final Type.Prim returnType;
    private final List<Variable> params;
    private final List<Variable> sizeParams = new ArrayList<>();
    private final List<ArrayDecl> arrays = new ArrayList<>();
    private String name;
    private List<Stmt> body = List.of();

    public Function(String javaClass, String javaMethod, String sourceFile, boolean kernel, Type.Prim returnType,
                    List<Variable> params) {
        this.javaClass = javaClass;
        this.javaMethod = javaMethod;
        this.sourceFile = sourceFile;
        this.kernel = kernel;
        this.returnType = returnType;
        this.params = params;
        this.name = javaMethod;
    }

    /** The device-side name (the Java method name unless that clashes with something of the target). */
    public String name() {
        return name;
    }

    public void rename(String n) {
        name = n;
    }

    public String javaClass() {
        return javaClass;
    }

    public String javaMethod() {
        return javaMethod;
    }

    public String sourceFile() {
        return sourceFile;
    }

    public boolean isKernel() {
        return kernel;
    }

    public Type.Prim returnType() {
        return returnType;
    }

    public List<Variable> params() {
        return params;
    }

    public List<Variable> sizeParams() {
        return sizeParams;
    }

    public List<ArrayDecl> arrays() {
        return arrays;
    }

    public List<Stmt> body() {
        return body;
    }

    public void setBody(List<Stmt> body) {
        this.body = body;
    }

    @Override
    public String toString() {
        return javaClass + "." + javaMethod;
    }
}
