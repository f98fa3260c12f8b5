package dev.owl2j.kernels;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Devices, buffers with sub-ranges, the kernel cache, build errors and task-graph replay. */
class ComputeContextTest {
    /** A source kernel, as compile(name, source, options) still takes (the model's kernels are Java). */
    static final String ADD = "__kernel void add(__global float* y, int yOff, __global const float* x, int xOff, int n) {\n"
            + "    int i = get_global_id(0);\n    if (i < n) y[yOff + i] += x[xOff + i];\n}\n";

    @Test
    void devicesListWithoutCrashingWhenCudaIsAbsent() {
        // CUDA is absent on CI: of(CUDA) must be empty with a reason, never an exception.
        var cuda = Devices.of(Api.CUDA);
        if (cuda.isEmpty()) assertTrue(Devices.unavailableReason(Api.CUDA) != null);
        for (Device d : Devices.list()) {
            assertFalse(d.name().isBlank());
            assertTrue(d.memoryBytes() > 0 && (d.api() == Api.VULKAN || d.computeUnits() > 0), d.describe()); // Vulkan has no CU count
        }
        DeviceException e = assertThrows(DeviceException.class, () -> Devices.get(Api.CUDA, 99));
        assertTrue(e.getMessage().contains("no cuda device 99"), e.getMessage());
    }

    @Test
    void bufferTransfersOfEveryTypeAndSubRanges() {
        ComputeContext ctx = Pocl.context();
        try (Buffer b = ctx.allocate(64)) {
            assertArrayEquals(new float[16], b.readFloats(0, 16), "fresh buffers are zero");
            b.write(new float[]{1.5f, -2f}, 3);
            assertArrayEquals(new float[]{0, 1.5f, -2f, 0}, b.readFloats(2, 4));
            b.write(new short[]{7, -9}, 1);
            assertArrayEquals(new short[]{0, 7, -9, 0}, b.readShorts(0, 4));
            b.write(new byte[]{1, 2, 3}, 60);
            assertArrayEquals(new byte[]{1, 2, 3}, b.readBytes(60, 3));
            b.write(new int[]{42}, 5);
            assertArrayEquals(new int[]{42}, b.readInts(5, 1));
            assertThrows(DeviceException.class, () -> b.write(new float[4], 14));
        }
    }

    @Test
    void secondCompileComesFromTheDiskCacheAndOptionsChangeTheKey() {
        ComputeContext ctx = Pocl.context();
        String src = ADD + "\n/* cache test " + System.nanoTime() + " */\n";
        try (Program first = ctx.compile("cache-test", src, "")) {
            assertFalse(first.fromCache());
        }
        try (ComputeContext other = ctx.device().open(); Program second = other.compile("cache-test", src, "")) {
            assertTrue(second.fromCache(), "same source, device and options: cached binary");
            // the cached binary must work: run a kernel from it
            try (Buffer x = other.upload(new float[]{1, 2, 3}); Buffer y = other.upload(new float[]{10, 20, 30})) {
                other.launch(new Launch(second.kernel("add"), new long[]{64}, new long[]{64},
                        new Object[]{y, 0, x, 0, 3}));
                other.finish();
                assertArrayEquals(new float[]{11, 22, 33}, y.readFloats(0, 3));
            }
            try (Program third = other.compile("cache-test", src, "-cl-fast-relaxed-math")) {
                assertFalse(third.fromCache(), "different options: different key");
            }
        }
    }

    @Test
    void buildErrorCarriesTheCompilerLog() {
        ComputeContext ctx = Pocl.context();
        KernelBuildException e = assertThrows(KernelBuildException.class, () -> ctx.compile("broken",
                ADD + "\n__kernel void broken(__global float* x) { x[0] = undefined_thing_42; }\n", ""));
        assertTrue(e.log().contains("undefined_thing_42"), e.log());
        assertTrue(e.getMessage().contains("'broken' failed to build"), e.getMessage());
    }

    @Test
    void taskGraphPlanIsBuiltOnceAndReplayedWithNewPerStepInputs() {
        miniDecode(Pocl.context(), Pocl.kernels(), "opencl enqueue list, 4 tasks");
    }

    @Test
    void theSameTaskGraphReplaysOnTheJvm() {
        miniDecode(Jvm.context(), Kernels.load(Jvm.context()), "java launch list, 4 tasks");
    }

    @Test
    void aJavaProgramIsCompiledOnceAndThenComesFromTheDiskCache() {
        ComputeContext ctx = Pocl.context();
        KernelProgram fresh = KernelProgram.of("cache-java", dev.owl2j.kernels.compiler.LanguageKernels.class);
        try (ComputeContext a = ctx.device().open(); ComputeContext b = ctx.device().open()) {
            a.compile(fresh, "-DCACHE_TEST_" + System.nanoTime()).close();
            String opt = "-DCACHE_TEST_" + System.nanoTime();
            assertFalse(a.compile(fresh, opt).fromCache());
            assertTrue(b.compile(fresh, opt).fromCache(), "same emitted source, device and options");
        }
    }

    private static void miniDecode(ComputeContext ctx, Kernels k, String description) {
        // A miniature decode step: embedding lookup of the token in params[0], a matvec, a bias, then argmax;
        // the table and matrix are uploaded on the first run only, the token id every run.
        Random r = new Random(7);
        int vocab = 40, hidden = 64, out = 30;
        float[] table = Ref.random(r, vocab * hidden, 1f), w = Ref.random(r, out * hidden, 1f), bias = Ref.random(r, out, 1f);
        try (Buffer tb = ctx.allocate(table.length * 4L); Buffer wb = ctx.allocate(w.length * 4L); Buffer bb = ctx.upload(bias);
             Buffer params = ctx.allocate(8); Buffer x = ctx.allocate(hidden * 4L); Buffer y = ctx.allocate(out * 4L);
             Buffer best = ctx.allocate(4)) {
            int[] step = new int[2];
            float[] logits = new float[out];
            int[] token = new int[1];
            TaskGraph g = new TaskGraph("mini-decode")
                    .transferToDevice(TaskGraph.Mode.FIRST_EXECUTION, tb, table)
                    .transferToDevice(TaskGraph.Mode.FIRST_EXECUTION, wb, w)
                    .transferToDevice(TaskGraph.Mode.EVERY_EXECUTION, params, step)
                    .resident(bb, x) // gather leaves rows of negative ids alone, so it reads x too
                    .task("embed", k.gatherRows(WeightType.F32, tb, params, 0, x, hidden, 1))
                    .task("matvec", k.linear(WeightType.F32, wb, x, 0, hidden, y, 0, out, out, hidden, 1))
                    .task("bias", k.biasAdd(y, 0, bb, 1, out))
                    .task("argmax", k.argmax(y, 0, out, best, 0))
                    .transferToHost(y, logits)
                    .transferToHost(best, token);
            try (ExecutionPlan plan = g.plan(ctx)) {
                for (int s = 0; s < 4; s++) {
                    step[0] = (s * 13 + 5) % vocab;
                    plan.run();
                    float[] xs = java.util.Arrays.copyOfRange(table, step[0] * hidden, (step[0] + 1) * hidden);
                    float[] e = Ref.linear(w, xs, out, hidden, 1);
                    int arg = 0;
                    for (int i = 0; i < out; i++) {
                        e[i] += bias[i];
                        if (e[i] > e[arg]) arg = i;
                    }
                    Ref.assertClose("step " + s + " logits", e, logits, KernelsTest.DOT_TOL);
                    assertEquals(arg, token[0], "step " + s + " argmax");
                }
                assertEquals(4, plan.runs());
                assertEquals(description, plan.description());
            }
        }
    }

    @Test
    void aTaskReadingABufferNobodyProducesIsRejected() {
        ComputeContext ctx = Pocl.context();
        Kernels k = Pocl.kernels();
        try (Buffer a = ctx.allocate(64); Buffer b = ctx.allocate(64)) {
            TaskGraph g = new TaskGraph("bad").task("add", k.add(a, 0, b, 0, 16));
            DeviceException e = assertThrows(DeviceException.class, () -> g.plan(ctx));
            assertTrue(e.getMessage().contains("task 'add' reads a buffer"), e.getMessage());
        }
    }
}
