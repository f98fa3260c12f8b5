package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.DeviceException;

import java.util.ArrayList;
import java.util.List;

/**
 * A kernel uses something the kernel language does not allow. The message is one line naming the class, the
 * method, the Java source line, the bytecode offset (which still points at the construct in a class compiled
 * without line numbers) and the construct, e.g. {@code com.example.MyKernels.scale (MyKernels.java:12, bytecode 7):
 * object allocation (new java.lang.StringBuilder)}.
 */
public final class KernelCompileException extends DeviceException {
    public KernelCompileException(String message) {
        super(message);
    }

    static KernelCompileException at(String className, String method, String sourceFile, int line, int bytecode, String construct) {
        List<String> where = new ArrayList<>();
        if (sourceFile != null) where.add(sourceFile + (line > 0 ? ":" + line : ""));
        if (bytecode >= 0) where.add("bytecode " + bytecode);
        return new KernelCompileException(className + "." + method + (where.isEmpty() ? "" : " (" + String.join(", ", where) + ")")
                + ": " + construct);
    }
}
