package dev.owl2j.kernels;

import dev.owl2j.kernels.compiler.LanguageKernels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel language end to end: every kernel of LanguageKernels runs on the JVM backend (its Java, per
 * work-item) and compiled to OpenCL C on PoCL, on fresh random inputs, and every output element is compared.
 * Integer results must be identical; float results too, except where single-precision library functions
 * (exp, tanh, sqrt) may round differently from Java's double-then-round (relative 1e-5).
 */
class KernelLanguageTest {
    static final KernelProgram PROGRAM = KernelProgram.of("language", LanguageKernels.class);
    final Random rnd = new Random(System.nanoTime());

    /** The program compiled once per device context (subclasses compare other backends with the JVM). */
    static final java.util.Map<ComputeContext, Program> PROGRAMS = new java.util.IdentityHashMap<>();

    /** The device whose results are compared with the JVM's. */
    ComputeContext device() {
        return Pocl.context();
    }

    static ComputeContext jvm() {
        return Jvm.context();
    }

    /** Uploads the Java arrays among args, launches kernel, returns every array argument read back. */
    static List<Object> run(ComputeContext ctx, String kernel, long[] global, long[] local, Object... args) {
        Program p = ctx == Jvm.context() ? Jvm.program(PROGRAM) : PROGRAMS.computeIfAbsent(ctx, c -> c.compile(PROGRAM, ""));
        Object[] launchArgs = new Object[args.length];
        List<Buffer> buffers = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            Buffer b = switch (a) {
                case float[] f -> ctx.upload(f);
                case int[] f -> ctx.upload(f);
                case short[] f -> {
                    Buffer x = ctx.allocate(f.length * 2L);
                    x.write(f, 0);
                    yield x;
                }
                case byte[] f -> {
                    Buffer x = ctx.allocate(f.length);
                    x.write(f, 0);
                    yield x;
                }
                case long[] f -> {
                    Buffer x = ctx.allocate(f.length * 8L);
                    java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocateDirect(f.length * 8).order(java.nio.ByteOrder.nativeOrder());
                    bb.asLongBuffer().put(f);
                    x.write(0, bb);
                    yield x;
                }
                case double[] f -> {
                    Buffer x = ctx.allocate(f.length * 8L);
                    java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocateDirect(f.length * 8).order(java.nio.ByteOrder.nativeOrder());
                    bb.asDoubleBuffer().put(f);
                    x.write(0, bb);
                    yield x;
                }
                default -> null;
            };
            launchArgs[i] = b != null ? b : a;
            buffers.add(b);
        }
        ctx.launch(new Launch(p.kernel(kernel), global, local, launchArgs));
        ctx.finish();
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            Buffer b = buffers.get(i);
            if (b == null) continue;
            out.add(switch (args[i]) {
                case float[] f -> b.readFloats(0, f.length);
                case int[] f -> b.readInts(0, f.length);
                case short[] f -> b.readShorts(0, f.length);
                case byte[] f -> b.readBytes(0, f.length);
                case long[] f -> {
                    java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocateDirect(f.length * 8).order(java.nio.ByteOrder.nativeOrder());
                    b.read(0, bb);
                    long[] r = new long[f.length];
                    bb.asLongBuffer().get(r);
                    yield r;
                }
                default -> {
                    double[] f = (double[]) args[i];
                    java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocateDirect(f.length * 8).order(java.nio.ByteOrder.nativeOrder());
                    b.read(0, bb);
                    double[] r = new double[f.length];
                    bb.asDoubleBuffer().get(r);
                    yield r;
                }
            });
            b.close();
        }
        return out;
    }

    /** The kernel on the JVM and on OpenCL; returns the JVM's outputs after comparing. */
    List<Object> both(String kernel, long[] global, long[] local, double relTol, Object... args) {
        List<Object> j = run(jvm(), kernel, global, local, args);
        List<Object> c = run(device(), kernel, global, local, args);
        for (int k = 0; k < j.size(); k++) {
            String what = kernel + " output " + k;
            switch (j.get(k)) {
                case float[] a -> assertClose(what, a, (float[]) c.get(k), relTol);
                case double[] a -> {
                    double[] b = (double[]) c.get(k);
                    for (int i = 0; i < a.length; i++) {
                        assertTrue(Math.abs(a[i] - b[i]) <= relTol * Math.max(1, Math.abs(a[i])) || Double.doubleToLongBits(a[i]) == Double.doubleToLongBits(b[i]),
                                what + "[" + i + "]: java " + a[i] + " opencl " + b[i]);
                    }
                }
                case int[] a -> assertArrayEquals(a, (int[]) c.get(k), what);
                case long[] a -> assertArrayEquals(a, (long[]) c.get(k), what);
                case short[] a -> assertArrayEquals(a, (short[]) c.get(k), what);
                default -> assertArrayEquals((byte[]) j.get(k), (byte[]) c.get(k), what);
            }
        }
        return j;
    }

    static void assertClose(String what, float[] a, float[] b, double relTol) {
        for (int i = 0; i < a.length; i++) {
            boolean same = Float.floatToIntBits(a[i]) == Float.floatToIntBits(b[i]);
            assertTrue(same || Math.abs(a[i] - b[i]) <= relTol * Math.max(1, Math.abs(a[i])),
                    what + "[" + i + "]: java " + a[i] + " opencl " + b[i]);
        }
    }

    static long[] g(long... v) {
        return v;
    }

    int[] ints(int n, int bound) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = bound == 0 ? rnd.nextInt() : rnd.nextInt(2 * bound) - bound;
        return a;
    }

    float[] floats(int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * scale);
        return a;
    }

    @Test
    void integersAreExact() {
        int n = 1000;
        int[] a = ints(n, 0), b = ints(n, 0);
        b[0] = 0;
        a[1] = Integer.MIN_VALUE;
        b[2] = 33;
        both("integers", g(1024), g(64), 0, a, b, new int[n], n);
    }

    @Test
    void longsAreExact() {
        int n = 500;
        long[] a = new long[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextLong();
        int[] b = ints(n, 0);
        b[3] = 0;
        both("longs", g(512), g(64), 0, a, b, new long[n], n);
    }

    @Test
    void floatsFollowJava() {
        int n = 700;
        float[] a = floats(n, 3), b = floats(n, 3);
        a[0] = Float.NaN;
        b[1] = Float.NaN;
        b[2] = 0;
        a[3] = Float.POSITIVE_INFINITY;
        a[4] = -1e30f;
        b[5] = 1e30f;
        both("floats", g(704), g(64), 1e-5, a, b, new float[n], new int[2 * n], n);
    }

    @Test
    void doublesStayDoubleWhereTheDeviceHasThem() {
        int n = 300;
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = rnd.nextGaussian() * 5;
        both("doubles", g(320), g(64), 1e-13, a, floats(n, 1), new double[n], n);
    }

    @Test
    void halfBfloatAndBytes() {
        int n = 400;
        short[] h = new short[n], bf = new short[n];
        byte[] q = new byte[n];
        for (int i = 0; i < n; i++) {
            h[i] = Float.floatToFloat16((float) rnd.nextGaussian() * 100);
            bf[i] = (short) (Float.floatToRawIntBits((float) rnd.nextGaussian()) >>> 16);
            q[i] = (byte) rnd.nextInt();
        }
        h[0] = (short) 0x7c00; // +inf
        h[1] = (short) 0x0001; // smallest subnormal
        List<Object> out = both("halfs", g(448), g(64), 0, h, bf, q, new float[n], new short[n], n);
        float[] f = (float[]) out.get(3);
        assertEquals(Float.float16ToFloat(h[5]) + Float.intBitsToFloat(bf[5] << 16) + q[5] * 0.5f + (q[5] & 0xff) + (q[5] >> 4)
                + Float.float16ToFloat((short) ((q[4] & 0xff) | (q[5] << 8))), f[5]);
    }

    @Test
    void loopsOfEveryShape() {
        int n = 300;
        int[] a = ints(n, 1000);
        for (int m : new int[]{0, 1, 7, 40}) both("loops", g(320), g(32), 0, a, new int[n], n, m);
    }

    @Test
    void privateArraysAndHelpers() {
        int n = 200;
        both("privates", g(256), g(64), 0, floats(n, 2), new float[n], n);
    }

    @Test
    void groupReductionWithBarriersLocalArraysAndSizes() {
        int rows = 5, cols = 100;
        float[] x = floats(rows * cols, 1);
        List<Object> out = both("reduce", g(32, rows), g(32, 1), 0, x, new float[rows], new int[rows], cols);
        float[] sums = (float[]) out.get(1);
        int[] sizes = (int[]) out.get(2);
        for (int r = 0; r < rows; r++) {
            double s = 0;
            int pos = 0;
            for (int c = 0; c < cols; c++) {
                s += x[r * cols + c];
                if (x[r * cols + c] > 0) pos++;
            }
            assertEquals(s, sums[r], 1e-4, "row " + r);
            assertEquals(rows * cols + rows * 1000 + pos * 1000000, sizes[r], "getSize and the local count of row " + r);
        }
    }

    @Test
    void workItemIdsOfA2dLaunch() {
        int w = 24, h = 6;
        int[] out = (int[]) both("ids", g(w, h), g(8, 3), 0, new int[w * h]).get(0);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = x % 8 + 10 * (y % 3) + 100 * (x / 8) + 1000 * (y / 3) + 10000 * 8 + 100000 * 3 + 1000000 * h;
                assertEquals(v, out[y * w + x], "(" + x + ", " + y + ")");
            }
        }
    }

    @Test
    void argumentsAreCheckedAgainstTheJavaParameters() {
        Program p = Jvm.program(PROGRAM);
        DeviceException e = org.junit.jupiter.api.Assertions.assertThrows(DeviceException.class,
                () -> new Launch(p.kernel("ids"), g(8), g(8), new Object[]{3}));
        assertTrue(e.getMessage().contains("argument 0 (IntArray out) needs a Buffer, got Integer"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(DeviceException.class,
                () -> new Launch(p.kernel("ids"), g(8), g(8), new Object[]{}));
        assertTrue(e.getMessage().contains("kernel ids takes 1 arguments (IntArray out), got 0"), e.getMessage());
    }

    @Test
    void anExceptionInAWorkItemNamesTheKernelAndTheWorkItem() {
        ComputeContext ctx = jvm();
        try (Buffer a = ctx.upload(new int[10]); Buffer out = ctx.allocate(40)) {
            Program p = Jvm.program(PROGRAM);
            // out has 10 ints but the grid has 16 work-items: work-item 10 writes outside
            DeviceException e = org.junit.jupiter.api.Assertions.assertThrows(DeviceException.class,
                    () -> ctx.launch(new Launch(p.kernel("ids"), g(16), g(16), new Object[]{out})));
            assertTrue(e.getMessage().startsWith("kernel ids failed on the java backend at work-item (10, 0, 0) of group (0, 0, 0)"), e.getMessage());
            assertTrue(Arrays.asList(a, out).size() == 2);
        }
    }
}
