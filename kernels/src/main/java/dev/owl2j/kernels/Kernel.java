package dev.owl2j.kernels;

/** An entry point of a compiled {@link Program}. */
public interface Kernel {
    String name();

    Program program();
}
