package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.DeviceException;

/**
 * A kernel uses something the kernel language does not allow. The message is one line naming the class, the
 * method, the Java source line and the construct, e.g. {@code com.example.MyKernels.scale (MyKernels.java:12):
 * object allocation (new java.lang.StringBuilder) is not allowed in a kernel}.
 */
public final class KernelCompileException extends DeviceException {
    public KernelCompileException(String message) {
        super(message);
    }

    static KernelCompileException at(String className, String method, String sourceFile, int line, String construct) {
        String where = sourceFile == null ? "" : " (" + sourceFile + (line > 0 ? ":" + line : "") + ")";
        return new KernelCompileException(className + "." + method + where + ": " + construct);
    }
}
