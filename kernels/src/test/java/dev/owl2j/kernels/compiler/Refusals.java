package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.IntArray;
import dev.owl2j.kernels.lang.KernelContext;

import java.util.function.IntUnaryOperator;

/**
 * Kernels the compiler must refuse. The line of each refused construct carries a "refused:" comment with the
 * words the message must contain; RefusalTest finds the line number from this file.
 */
@SuppressWarnings({"unused", "InfiniteRecursion"})
public final class Refusals {
    private Refusals() {}

    static int counter;

    public static void allocation(KernelContext ctx, FloatArray x) {
        StringBuilder sb = new StringBuilder(); // refused: object allocation (new java.lang.StringBuilder)
        x.set(0, sb.length());
    }

    public static void staticField(KernelContext ctx, IntArray x) {
        x.set(0, counter); // refused: read of static field dev.owl2j.kernels.compiler.Refusals.counter
    }

    public static void throwing(KernelContext ctx, IntArray x, int n) {
        if (n < 0) throw new IllegalArgumentException("negative"); // refused: throw (exceptions are not available in kernels)
        x.set(0, n);
    }

    public static void throwingOnly(KernelContext ctx, IntArray x, int n) {
        if (n < 0) throw Refusals.ERROR; // refused: read of static field dev.owl2j.kernels.compiler.Refusals.ERROR
        x.set(0, n);
    }

    static final RuntimeException ERROR = new RuntimeException();

    public static void tryCatch(KernelContext ctx, IntArray x, int n) {
        try {
            x.set(0, 10 / n); // refused: exception handler (try/catch/finally)
        } catch (ArithmeticException e) {
            x.set(0, -1);
        }
    }

    public static void synchronizedBlock(KernelContext ctx, IntArray x) {
        synchronized (x) { // refused: synchronized block
            x.set(0, 1);
        }
    }

    public static synchronized void synchronizedMethod(KernelContext ctx, IntArray x) {
        x.set(0, 1); // refused: synchronized method
    }

    public static void recursive(KernelContext ctx, IntArray x, int n) {
        x.set(0, fib(n));
    }

    static int fib(int n) {
        return n < 2 ? n : fib(n - 1) + fib(n - 2); // refused: recursive call of dev.owl2j.kernels.compiler.Refusals.fib
    }

    public static void switchStatement(KernelContext ctx, IntArray x, int n) {
        switch (n) { // refused: switch statement
            case 1 -> x.set(0, 10);
            case 7 -> x.set(0, 20);
            default -> x.set(0, 30);
        }
    }

    public static void typeTest(KernelContext ctx, FloatArray x) {
        Object o = x;
        if (o instanceof FloatArray f) f.set(0, 1); // refused: type test or cast of a reference (instanceof/checkcast)
    }

    public static void stringConstant(KernelContext ctx, IntArray x) {
        String s = "owl"; // refused: string constant "owl"
        x.set(0, s.length());
    }

    public static void lambda(KernelContext ctx, IntArray x) {
        IntUnaryOperator f = v -> v + 1; // refused: lambda, method reference or string concatenation (invokedynamic)
        x.set(0, f.applyAsInt(1));
    }

    public static void dynamicArray(KernelContext ctx, FloatArray x, int n) {
        float[] tmp = new float[n]; // refused: array allocation with a length that is not a positive compile-time constant
        x.set(0, tmp[0]);
    }

    public static void dynamicLocalArray(KernelContext ctx, FloatArray x, int n) {
        float[] tmp = ctx.allocateFloatLocalArray(n); // refused: allocateFloatLocalArray with a size that is not a positive compile-time constant
        x.set(0, tmp[0]);
    }

    public static void localArrayInHelper(KernelContext ctx, FloatArray x) {
        x.set(0, helperAllocating(ctx));
    }

    static float helperAllocating(KernelContext ctx) {
        float[] s = ctx.allocateFloatLocalArray(4); // refused: allocateFloatLocalArray outside the kernel method
        return s[0];
    }

    public static void javaArrayParameter(KernelContext ctx, float[] x) {
        x[0] = 1; // refused: kernel parameter x of type float[]
    }

    public static void hostArrayMethod(KernelContext ctx, FloatArray x) {
        x.init(3); // refused: host-side array method init
    }

    public static void libraryCall(KernelContext ctx, IntArray x) {
        int[] a = new int[4];
        java.util.Arrays.fill(a, 3); // refused: call of library method java.util.Arrays.fill
        x.set(0, a[0]);
    }

    public static void nullReference(KernelContext ctx, FloatArray x) {
        FloatArray y = null; // refused: null reference
        y.set(0, 1);
    }

    public static void objectParameter(KernelContext ctx, FloatArray x) {
        x.set(0, hashOf(x));
    }

    static int hashOf(Object o) {
        return 1; // refused: parameter o of type Object
    }

    public static void instanceHelper(KernelContext ctx, FloatArray x) {
        x.set(0, new Refusals().member()); // refused: object allocation (new dev.owl2j.kernels.compiler.Refusals)
    }

    float member() {
        return 1;
    }

    public static void usesLong(KernelContext ctx, IntArray x, int n) {
        long big = n * 3L; // refused: long (64-bit integer) arithmetic, which this target lacks
        x.set(0, (int) big);
    }

    public static void usesDouble(KernelContext ctx, FloatArray x, float v) {
        x.set(0, (float) (v * 0.5)); // refused: double arithmetic, which this target lacks
    }
}
