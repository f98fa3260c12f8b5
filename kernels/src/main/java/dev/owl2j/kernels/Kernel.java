package dev.owl2j.kernels;

/** An entry point of a compiled {@link Program}. */
public interface Kernel {
    String name();

    Program program();

    /** The parameters of a kernel compiled from Java (checked at every launch), or null for C source kernels. */
    default KernelSignature signature() {
        return null;
    }
}
