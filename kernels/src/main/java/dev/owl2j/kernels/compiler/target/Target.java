package dev.owl2j.kernels.compiler.target;

import dev.owl2j.kernels.compiler.Capabilities;
import dev.owl2j.kernels.compiler.ir.Module;

/**
 * A device language the compiler writes: the seam a new backend implements (docs/kernels.md, "Adding a target").
 * The translator produces one {@link Module} per target (checked against {@link #capabilities()}), and the
 * target decides everything about spelling: types, memory spaces, work-item ids, barriers, math functions,
 * byte/short access and names. {@link #emit} may rename functions and variables (reserved words); a kernel's
 * device name is its {@code Function.name()} afterwards.
 */
public interface Target {
    /** "opencl", "cuda", ... (also part of the kernel cache key). */
    String id();

    Capabilities capabilities();

    /** The whole program for this target: source text (C-like targets) and/or binary words. */
    Emitted emit(Module module);

    /** What a target produced: text (may be null for binary-only targets) and binary (null for text targets). */
    record Emitted(String text, byte[] binary) {}
}
