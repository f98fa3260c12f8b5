package dev.owl2j.kernels;

import java.util.Arrays;

/**
 * One kernel launch: the grid (global work items per dimension, like OpenCL's NDRange; on CUDA grid =
 * global/local blocks), the work-group size and the arguments. An argument is an {@link Integer}, a
 * {@link Long}, a {@link Float}, a {@link Double}, a {@link Buffer}, or a buffer wrapped in {@link Access} to
 * declare how the launch uses it (a bare buffer counts as read and written). Kernels compiled from Java check
 * the arguments against their parameters here.
 */
public record Launch(Kernel kernel, long[] global, long[] local, Object[] args) {
    public Launch {
        if (global.length != local.length || global.length < 1 || global.length > 3) {
            throw new IllegalArgumentException("launch of " + kernel.name() + ": global and local need 1-3 equal dimensions");
        }
        for (int d = 0; d < global.length; d++) {
            if (local[d] <= 0 || global[d] % local[d] != 0) {
                throw new IllegalArgumentException("launch of " + kernel.name() + ": global " + Arrays.toString(global)
                        + " is not a multiple of local " + Arrays.toString(local));
            }
        }
        for (Object a : args) {
            if (!(a instanceof Integer || a instanceof Long || a instanceof Float || a instanceof Double
                    || a instanceof Buffer || a instanceof Access)) {
                throw new IllegalArgumentException("launch of " + kernel.name() + ": unsupported argument " + a);
            }
        }
        if (kernel.signature() != null) kernel.signature().check(args);
    }

    /** How a launch uses a buffer argument, for the task graph's dependency checks. */
    public record Access(Buffer buffer, boolean reads, boolean writes) {
        public static Access in(Buffer b) {
            return new Access(b, true, false);
        }

        public static Access out(Buffer b) {
            return new Access(b, false, true);
        }

        public static Access inOut(Buffer b) {
            return new Access(b, true, true);
        }
    }

    /** The buffer behind an argument, or null for a scalar. */
    public static Buffer bufferOf(Object arg) {
        if (arg instanceof Buffer b) return b;
        if (arg instanceof Access a) return a.buffer();
        return null;
    }

    /** Rounds n up to a multiple of m (global sizes). */
    public static long roundUp(long n, long m) {
        return (n + m - 1) / m * m;
    }
}
