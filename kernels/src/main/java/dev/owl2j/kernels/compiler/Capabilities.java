package dev.owl2j.kernels.compiler;

/**
 * What a target can express, checked while translating so that a refusal can name the Java source line.
 * int64: 64-bit integer arithmetic (long); fp64: double arithmetic (a target without it may still demote
 * doubles to float instead of refusing them, which OpenCL does; see docs/kernels.md).
 */
public record Capabilities(boolean int64, boolean fp64) {
    public static final Capabilities ALL = new Capabilities(true, true);
}
