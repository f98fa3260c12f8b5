package dev.owl2j.kernels.compiler.ir;

import java.util.List;

/**
 * The compiled form of a kernel program: every function in an order where a callee comes before its callers
 * (the language has no recursion), and the kernels (entry points) among them.
 */
public record Module(String name, List<Function> functions) {
    public List<Function> kernels() {
        return functions.stream().filter(Function::isKernel).toList();
    }

    public Function kernel(String javaMethod) {
        for (Function f : functions) {
            if (f.isKernel() && f.javaMethod().equals(javaMethod)) return f;
        }
        return null;
    }

    /** Whether any function uses DOUBLE values (targets without fp64 then demote them). */
    public boolean usesDoubles() {
        return IrWalk.any(this, t -> t == Type.Prim.DOUBLE || t instanceof Type.ArrayType a && a.elem() == Type.Prim.DOUBLE);
    }
}
