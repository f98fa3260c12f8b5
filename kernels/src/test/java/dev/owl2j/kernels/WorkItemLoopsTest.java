package dev.owl2j.kernels;

import dev.owl2j.kernels.compiler.LanguageKernels;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JVM backend's two ways of running a kernel with barriers give bit-identical results: the kernel method on
 * work-item threads with real barriers, and the work-item loops generated from its IR. Checked on every model
 * kernel that has barriers (fresh random inputs, every output element) and on the language tests' reduction.
 */
class WorkItemLoopsTest {
    final Random rnd = new Random(System.nanoTime());
    static final Kernels LOOPS = Kernels.load(Jvm.context());
    static final Kernels THREADS = Kernels.load(Jvm.context(), "threads");

    interface LaunchOf {
        Launch of(Kernels k, Buffer out);
    }

    /** Runs the launch with both kernel sets into fresh copies of out; returns the two results. */
    float[][] both(float[] outInit, LaunchOf launch) {
        ComputeContext ctx = Jvm.context();
        float[][] r = new float[2][];
        int i = 0;
        for (Kernels k : List.of(LOOPS, THREADS)) {
            try (Buffer out = ctx.upload(outInit)) {
                ctx.launch(launch.of(k, out));
                r[i++] = out.readFloats(0, outInit.length);
            }
        }
        return r;
    }

    void same(String what, float[][] r) {
        assertEquals(r[0].length, r[1].length);
        for (int i = 0; i < r[0].length; i++) {
            assertEquals(Float.floatToRawIntBits(r[1][i]), Float.floatToRawIntBits(r[0][i]), what + "[" + i + "]: threads " + r[1][i] + " loops " + r[0][i]);
        }
    }

    @Test
    void rowKernelsAreBitIdentical() {
        ComputeContext ctx = Jvm.context();
        int rows = 23, cols = 320, n = 3;
        for (WeightType t : WeightType.values()) {
            Ref.Packed p = Ref.pack(t, Ref.random(rnd, rows * cols, 1f), rows, cols);
            try (Buffer w = ctx.allocate(p.bytes().length); Buffer x = ctx.upload(Ref.random(rnd, n * cols, 1f));
                 Buffer m = ctx.upload(new int[]{0, 1, 1})) {
                w.write(p.bytes(), 0);
                same("linear " + t, both(new float[n * rows], (k, out) -> k.linear(t, w, x, 0, cols, out, 0, rows, rows, cols, n)));
                same("linearSelect " + t, both(new float[n * rows], (k, out) -> k.linearSelect(t, w, w, m, 0, x, 0, cols, out, 0, rows, rows, cols, n)));
                same("linearBatch " + t, both(new float[n * rows], (k, out) -> k.linearBatch(t, w, x, 0, cols, out, 0, rows, rows, cols, n)));
                if (!t.quantized()) {
                    same("matmul " + t, both(new float[n * rows], (k, out) -> k.matmul(t, w, x, 0, cols, out, 0, rows, rows, cols, n)));
                }
            }
        }
        float[] x = Ref.random(rnd, 4 * 300, 3f);
        try (Buffer w = ctx.upload(Ref.random(rnd, 300, 1f)); Buffer b = ctx.upload(Ref.random(rnd, 300, 1f)); Buffer xb = ctx.upload(x)) {
            same("rmsnorm", both(new float[x.length], (k, out) -> k.rmsnorm(xb, 0, out, 0, w, 4, 300, 1e-6f)));
            same("layernorm", both(new float[x.length], (k, out) -> k.layernorm(xb, 0, out, 0, w, b, 4, 300, 1e-6f)));
            same("softmax", both(x, (k, out) -> k.softmax(out, 0, 4, 300)));
        }
    }

    @Test
    void attentionArgmaxAndSamplingAreBitIdentical() {
        ComputeContext ctx = Jvm.context();
        int heads = 4, kvHeads = 2, headDim = 96, keys = 150;
        float[] q = Ref.random(rnd, 3 * heads * headDim, 1f);
        try (Buffer qb = ctx.upload(q); Buffer kb = ctx.upload(Ref.random(rnd, keys * kvHeads * headDim, 1f));
             Buffer vb = ctx.upload(Ref.random(rnd, keys * kvHeads * headDim, 1f)); Buffer pb = ctx.upload(new int[]{140})) {
            same("attention", both(new float[3 * heads * headDim], (k, out) -> k.attention(new Kernels.Layout(qb, 0, heads * headDim, headDim),
                    new Kernels.Layout(kb, 0, kvHeads * headDim, headDim), new Kernels.Layout(vb, 0, kvHeads * headDim, headDim),
                    new Kernels.Layout(out, 0, heads * headDim, headDim), 3, heads, kvHeads, headDim, 0.1f, true, 0, pb, 0)));
        }
        int vocab = 5000;
        float[] logits = Ref.random(rnd, vocab, 5f);
        try (Buffer x = ctx.upload(logits); Buffer o1 = ctx.allocate(4); Buffer o2 = ctx.allocate(4)) {
            ctx.launch(LOOPS.argmax(x, 0, vocab, o1, 0));
            ctx.launch(THREADS.argmax(x, 0, vocab, o2, 0));
            assertArrayEquals(o2.readInts(0, 1), o1.readInts(0, 1));
        }
    }

    @Test
    void samplingPicksTheSameTokenBothWays() {
        ComputeContext ctx = Jvm.context();
        int vocab = 1000;
        // two trials: without and with top-k, both with top-p (on threads the kernel's ~100 barrier passes make each
        // trial seconds long; more trials add CI time, not coverage)
        for (int trial = 0; trial < 2; trial++) {
            float[] logits = Ref.random(rnd, vocab, 4f);
            int[] params = new int[Kernels.SAMPLE_PARAMS];
            Kernels.packSampling(params, 0, 0.3 + trial * 0.3, trial * 20, 0.5 + trial * 0.1, rnd.nextDouble());
            int[] got = new int[2];
            int i = 0;
            for (Kernels k : List.of(LOOPS, THREADS)) {
                try (Buffer x = ctx.upload(logits); Buffer work = ctx.allocate(8L * vocab); Buffer pb = ctx.upload(params)) {
                    ctx.launch(k.sample(x, 0, vocab, work, pb, 0));
                    got[i++] = pb.readInts(Kernels.SAMPLE_PARAMS - 1, 1)[0];
                }
            }
            assertEquals(got[1], got[0], "trial " + trial);
        }
    }

    @Test
    void workItemsThatDisagreeAroundABarrierFailTheLaunch() {
        ComputeContext ctx = Jvm.context();
        Program p = Jvm.program(KernelProgram.methods("divergent", DivergentKernel.class, "divergent"));
        try (Buffer b = ctx.allocate(64 * 4)) {
            DeviceException e = assertThrows(DeviceException.class,
                    () -> ctx.launch(new Launch(p.kernel("divergent"), new long[]{64}, new long[]{64}, new Object[]{b})));
            assertTrue(e.getMessage().contains("took different paths through control flow that contains a barrier"), e.getMessage());
        }
    }

    @Test
    void theLanguageReductionIsBitIdentical() {
        ComputeContext ctx = Jvm.context();
        KernelProgram lang = KernelProgram.of("language", LanguageKernels.class);
        Program loops = ctx.compile(lang, ""), threads = ctx.compile(lang, "threads");
        int rows = 4, cols = 90;
        float[] x = Ref.random(rnd, rows * cols, 1f);
        float[][] r = new float[2][];
        int i = 0;
        for (Program p : List.of(loops, threads)) {
            try (Buffer xb = ctx.upload(x); Buffer out = ctx.allocate(rows * 4L); Buffer sizes = ctx.allocate(rows * 4L)) {
                ctx.launch(new Launch(p.kernel("reduce"), new long[]{32, rows}, new long[]{32, 1}, new Object[]{xb, out, sizes, cols}));
                r[i++] = out.readFloats(0, rows);
            }
        }
        same("reduce", r);
    }
}
