package dev.owl2j.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Every model kernel at the shapes a 7B mPLUG-Owl2 (LLaMA-2-7B decoder, ViT-L/14 vision tower) runs it with, for
 * {@code owl2j kernels bench} and the C-vs-Java comparison: one {@link Case} per kernel and weight type, each
 * preparing its buffers (random but well-formed data: finite F16/BF16, valid quantized blocks) and building the
 * launch from a {@link Kernels}, with the bytes it must move and the floating-point operations it does.
 */
public final class KernelBench {
    private KernelBench() {}

    /** The model dimensions the cases use. */
    public record Shapes(int hidden, int heads, int headDim, int inter, int vocab, int prefill, int decodePosition,
                         int visionTokens, int visionHidden, int visionHeads, int visionMlp) {
        /** LLaMA-2-7B (hidden 4096, 32 heads of 128, MLP 11008, vocab 32000), ViT-L/14 at 448 px (1025 tokens, 1024, 16 heads, 4096). */
        public static final Shapes LLAMA_7B = new Shapes(4096, 32, 128, 11008, 32000, 256, 1023, 1025, 1024, 16, 4096);
    }

    /** A case with its buffers allocated: build its launch with any Kernels of the same context. */
    public interface Prepared extends AutoCloseable {
        Launch launch(Kernels k);

        /** Bytes the kernel must read and write at least once. */
        long bytes();

        long flops();

        @Override
        void close();
    }

    /** name: the Java kernel; shape: what the launch covers, in the model's terms. */
    public record Case(String name, String shape, Function<ComputeContext, Prepared> prepare) {}

    public record Result(String name, String shape, double millis, long bytes, long flops) {
        public double gbPerSecond() {
            return bytes / (millis * 1e6);
        }

        public double gflopPerSecond() {
            return flops / (millis * 1e6);
        }
    }

    private static final class Bufs implements AutoCloseable {
        final List<Buffer> all = new ArrayList<>();

        Buffer add(Buffer b) {
            all.add(b);
            return b;
        }

        @Override
        public void close() {
            for (Buffer b : all) b.close();
        }
    }

    private static Prepared prepared(Bufs bufs, long bytes, long flops, Function<Kernels, Launch> launch) {
        return new Prepared() {
            @Override
            public Launch launch(Kernels k) {
                return launch.apply(k);
            }

            @Override
            public long bytes() {
                return bytes;
            }

            @Override
            public long flops() {
                return flops;
            }

            @Override
            public void close() {
                bufs.close();
            }
        };
    }

    /** A buffer of count elements of type filled with random values in [-1, 1) (quantized: valid blocks). */
    static Buffer random(ComputeContext ctx, WeightType type, long rows, long cols, long seed) {
        long bytes = type.bytes(rows, cols);
        Buffer b = ctx.allocate(bytes);
        SplittableRandom r = new SplittableRandom(seed);
        int chunk = 1 << 20;
        ByteBuffer bb = ByteBuffer.allocateDirect(chunk).order(ByteOrder.LITTLE_ENDIAN);
        long pos = 0;
        while (pos < bytes) {
            bb.clear();
            int len = (int) Math.min(chunk, bytes - pos);
            switch (type) {
                case F32 -> { for (int i = 0; i + 4 <= len; i += 4) bb.putFloat(i, (float) (r.nextDouble() * 2 - 1)); }
                case F16 -> { for (int i = 0; i + 2 <= len; i += 2) bb.putShort(i, Float.floatToFloat16((float) (r.nextDouble() * 2 - 1))); }
                case BF16 -> { for (int i = 0; i + 2 <= len; i += 2) bb.putShort(i, (short) (Float.floatToRawIntBits((float) (r.nextDouble() * 2 - 1)) >>> 16)); }
                default -> {
                    for (int i = 0; i < len; i++) bb.put(i, (byte) r.nextInt());
                    // a finite F16 scale at the start of every block
                    for (long blk = (pos + type.blockBytes - 1) / type.blockBytes * type.blockBytes; blk + 2 <= pos + len; blk += type.blockBytes) {
                        bb.putShort((int) (blk - pos), Float.floatToFloat16((float) (r.nextDouble() * 0.02)));
                    }
                }
            }
            bb.position(0).limit(len);
            b.write(pos, bb);
            pos += len;
        }
        return b;
    }

    private static Buffer floats(Bufs bufs, ComputeContext ctx, long n, long seed) {
        return bufs.add(random(ctx, WeightType.F32, 1, n, seed));
    }

    private static Buffer ints(Bufs bufs, ComputeContext ctx, int... values) {
        return bufs.add(ctx.upload(values));
    }

    /** Every model kernel once per weight type it has, at the shapes of s. */
    public static List<Case> cases(Shapes s) {
        List<Case> out = new ArrayList<>();
        int h = s.hidden(), inter = s.inter(), n = s.prefill();
        for (WeightType t : WeightType.values()) {
            out.add(new Case("linear" + t.name(), "decode matvec " + inter + "x" + h + " (mlp.gate_proj), 1 token", ctx -> {
                Bufs b = new Bufs();
                Buffer w = b.add(random(ctx, t, inter, h, 1)), x = floats(b, ctx, h, 2), y = floats(b, ctx, inter, 3);
                return prepared(b, t.bytes(inter, h) + 4L * (h + inter), 2L * inter * h, k -> k.linear(t, w, x, 0, h, y, 0, inter, inter, h, 1));
            }));
            out.add(new Case("linearSelect" + t.name(), "MAM k_proj " + h + "x" + h + ", 1 token", ctx -> {
                Bufs b = new Bufs();
                Buffer w0 = b.add(random(ctx, t, h, h, 4)), w1 = b.add(random(ctx, t, h, h, 5)), m = ints(b, ctx, 1);
                Buffer x = floats(b, ctx, h, 6), y = floats(b, ctx, h, 7);
                return prepared(b, t.bytes(h, h) + 8L * h, 2L * h * h, k -> k.linearSelect(t, w0, w1, m, 0, x, 0, h, y, 0, h, h, h, 1));
            }));
            out.add(new Case("linearBatch" + t.name(), "batched decode " + inter + "x" + h + ", " + Kernels.MAX_BATCH + " sessions", ctx -> {
                int nb = Kernels.MAX_BATCH;
                Bufs b = new Bufs();
                Buffer w = b.add(random(ctx, t, inter, h, 8)), x = floats(b, ctx, (long) nb * h, 9), y = floats(b, ctx, (long) nb * inter, 10);
                return prepared(b, t.bytes(inter, h) + 4L * nb * (h + inter), 2L * nb * inter * h,
                        k -> k.linearBatch(t, w, x, 0, h, y, 0, inter, inter, h, nb));
            }));
            if (!t.quantized()) {
                out.add(new Case("matmul" + t.name(), "prefill q_proj " + h + "x" + h + ", " + n + " tokens", ctx -> {
                    Bufs b = new Bufs();
                    Buffer w = b.add(random(ctx, t, h, h, 11)), x = floats(b, ctx, (long) n * h, 12), y = floats(b, ctx, (long) n * h, 13);
                    return prepared(b, t.bytes(h, h) + 8L * n * h, 2L * n * h * h, k -> k.matmul(t, w, x, 0, h, y, 0, h, h, h, n));
                }));
                out.add(new Case("gatherRows" + t.name(), "embedding of " + n + " tokens from " + s.vocab() + "x" + h, ctx -> {
                    Bufs b = new Bufs();
                    int[] idv = new int[n];
                    for (int i = 0; i < n; i++) idv[i] = (i * 7919) % s.vocab();
                    Buffer table = b.add(random(ctx, t, s.vocab(), h, 14)), ids = ints(b, ctx, idv), y = floats(b, ctx, (long) n * h, 15);
                    return prepared(b, (long) n * h * (t == WeightType.F32 ? 8 : 6), 0, k -> k.gatherRows(t, table, ids, 0, y, h, n));
                }));
            }
        }
        out.add(new Case("rmsnorm", n + " rows of " + h, ctx -> {
            Bufs b = new Bufs();
            Buffer x = floats(b, ctx, (long) n * h, 16), y = floats(b, ctx, (long) n * h, 17), w = floats(b, ctx, h, 18);
            return prepared(b, 8L * n * h, 4L * n * h, k -> k.rmsnorm(x, 0, y, 0, w, n, h, 1e-6f));
        }));
        out.add(new Case("rmsnormSelect", n + " rows of " + h, ctx -> {
            Bufs b = new Bufs();
            int[] mod = new int[n];
            for (int i = 0; i < n; i++) mod[i] = i < 65 ? 1 : 0;
            Buffer x = floats(b, ctx, (long) n * h, 19), y = floats(b, ctx, (long) n * h, 20), w0 = floats(b, ctx, h, 21), w1 = floats(b, ctx, h, 22);
            Buffer m = ints(b, ctx, mod);
            return prepared(b, 8L * n * h, 4L * n * h, k -> k.rmsnormSelect(x, 0, y, 0, w0, w1, m, 0, n, h, 1e-6f));
        }));
        int vt = s.visionTokens(), vh = s.visionHidden();
        out.add(new Case("layernorm", vt + " rows of " + vh + " (vision)", ctx -> {
            Bufs b = new Bufs();
            Buffer x = floats(b, ctx, (long) vt * vh, 23), y = floats(b, ctx, (long) vt * vh, 24), w = floats(b, ctx, vh, 25), bb = floats(b, ctx, vh, 26);
            return prepared(b, 8L * vt * vh, 8L * vt * vh, k -> k.layernorm(x, 0, y, 0, w, bb, vt, vh, 1e-6f));
        }));
        out.add(new Case("softmax", "1 row of " + s.vocab(), ctx -> {
            Bufs b = new Bufs();
            Buffer x = floats(b, ctx, s.vocab(), 27);
            return prepared(b, 8L * s.vocab(), 3L * s.vocab(), k -> k.softmax(x, 0, 1, s.vocab()));
        }));
        out.add(new Case("rope", n + " tokens x " + s.heads() + " heads x " + s.headDim(), ctx -> {
            Bufs b = new Bufs();
            int half = s.headDim() / 2;
            Buffer x = floats(b, ctx, (long) n * h, 28), cos = floats(b, ctx, (long) n * half, 29), sin = floats(b, ctx, (long) n * half, 30);
            Buffer p = ints(b, ctx, 0);
            return prepared(b, 8L * n * h + 8L * n * half, 3L * n * h, k -> k.rope(x, 0, h, s.heads(), s.headDim(), cos, sin, p, 0, n));
        }));
        int keys = s.decodePosition() + 1;
        out.add(new Case("attention", "decode: " + s.heads() + " heads x " + s.headDim() + ", 1 query over " + keys + " cached keys", ctx -> {
            Bufs b = new Bufs();
            Buffer q = floats(b, ctx, h, 31), kc = floats(b, ctx, (long) keys * h, 32), vc = floats(b, ctx, (long) keys * h, 33), o = floats(b, ctx, h, 34);
            Buffer p = ints(b, ctx, s.decodePosition());
            float scale = (float) (1 / Math.sqrt(s.headDim()));
            return prepared(b, 8L * keys * h + 8L * h, 4L * keys * h, k -> k.attention(new Kernels.Layout(q, 0, h, s.headDim()),
                    new Kernels.Layout(kc, 0, h, s.headDim()), new Kernels.Layout(vc, 0, h, s.headDim()), new Kernels.Layout(o, 0, h, s.headDim()),
                    1, s.heads(), s.heads(), s.headDim(), scale, true, 0, p, 0));
        }));
        int vhd = vh / s.visionHeads();
        out.add(new Case("attentionVision", "vision: " + s.visionHeads() + " heads x " + vhd + ", " + vt + " x " + vt + " (fused QKV)", ctx -> {
            Bufs b = new Bufs();
            int row = 3 * vh, hs = 3 * vhd;
            Buffer qkv = floats(b, ctx, (long) vt * row, 35), o = floats(b, ctx, (long) vt * vh, 36), p = ints(b, ctx, 0);
            float scale = (float) (1 / Math.sqrt(vhd));
            return prepared(b, 12L * vt * vh + 4L * vt * vh, 4L * vt * vt * vh, k -> k.attention(new Kernels.Layout(qkv, 0, row, hs),
                    new Kernels.Layout(qkv, vhd, row, hs), new Kernels.Layout(qkv, 2 * vhd, row, hs), new Kernels.Layout(o, 0, vh, vhd),
                    vt, s.visionHeads(), s.visionHeads(), vhd, scale, false, vt, p, 0));
        }));
        long ni = (long) n * inter;
        out.add(new Case("siluMul", n + " x " + inter, ctx -> {
            Bufs b = new Bufs();
            Buffer g = floats(b, ctx, ni, 37), u = floats(b, ctx, ni, 38);
            return prepared(b, 12L * ni, 4L * ni, k -> k.siluMul(g, u, (int) ni));
        }));
        long vm = (long) vt * s.visionMlp();
        out.add(new Case("quickGelu", vt + " x " + s.visionMlp() + " (vision MLP)", ctx -> {
            Bufs b = new Bufs();
            Buffer x = floats(b, ctx, vm, 39);
            return prepared(b, 8L * vm, 4L * vm, k -> k.quickGelu(x, (int) vm));
        }));
        long nh = (long) n * h;
        out.add(new Case("add", n + " x " + h + " (residual)", ctx -> {
            Bufs b = new Bufs();
            Buffer y = floats(b, ctx, nh, 40), x = floats(b, ctx, nh, 41);
            return prepared(b, 12L * nh, nh, k -> k.add(y, 0, x, 0, (int) nh));
        }));
        out.add(new Case("biasAdd", vt + " x " + s.visionMlp() + " (vision fc1 bias)", ctx -> {
            Bufs b = new Bufs();
            Buffer y = floats(b, ctx, vm, 42), bias = floats(b, ctx, s.visionMlp(), 43);
            return prepared(b, 8L * vm, vm, k -> k.biasAdd(y, 0, bias, vt, s.visionMlp()));
        }));
        out.add(new Case("scale", n + " x " + h, ctx -> {
            Bufs b = new Bufs();
            Buffer x = floats(b, ctx, nh, 44);
            return prepared(b, 8L * nh, nh, k -> k.scale(x, 0, 0.5f, (int) nh));
        }));
        out.add(new Case("copy", n + " x " + h, ctx -> {
            Bufs b = new Bufs();
            Buffer y = floats(b, ctx, nh, 45), x = floats(b, ctx, nh, 46);
            return prepared(b, 8L * nh, 0, k -> k.copy(y, 0, x, 0, (int) nh));
        }));
        out.add(new Case("copyRowsAt", n + " rows of " + h + " into a KV cache", ctx -> {
            Bufs b = new Bufs();
            Buffer cache = floats(b, ctx, 2L * nh, 47), x = floats(b, ctx, nh, 48), p = ints(b, ctx, n);
            return prepared(b, 8L * nh, 0, k -> k.copyRowsAt(cache, x, 0, h, n, p, 0));
        }));
        out.add(new Case("argmax", "over " + s.vocab() + " logits", ctx -> {
            Bufs b = new Bufs();
            Buffer x = floats(b, ctx, s.vocab(), 49), o = ints(b, ctx, 0);
            return prepared(b, 4L * s.vocab(), s.vocab(), k -> k.argmax(x, 0, s.vocab(), o, 0));
        }));
        out.add(new Case("sample", "over " + s.vocab() + " logits, T 0.7, top-k 40, top-p 0.9", ctx -> {
            Bufs b = new Bufs();
            Buffer x = floats(b, ctx, s.vocab(), 50), work = b.add(ctx.allocate(8L * s.vocab()));
            int[] params = new int[Kernels.SAMPLE_PARAMS];
            Kernels.packSampling(params, 0, 0.7, 40, 0.9, 0.37);
            Buffer p = ints(b, ctx, params);
            return prepared(b, 0, 0, k -> k.sample(x, 0, s.vocab(), work, p, 0)); // ~100 passes of searches: no single byte count
        }));
        return out;
    }

    /**
     * The device's copy bandwidth in GB/s (bytes read + written by the copy kernel over 16M floats, best of 5;
     * 1M on the JVM backend, which is bound by its per-work-item calls, not by memory): what "share of bandwidth"
     * divides by.
     */
    public static double copyBandwidth(ComputeContext ctx, Kernels k) {
        int n = ctx.device().api() == Api.JAVA ? 1 << 20 : 1 << 24;
        try (Buffer a = ctx.allocate(4L * n); Buffer b = ctx.allocate(4L * n)) {
            Launch l = k.copy(b, 0, a, 0, n);
            ctx.launch(l);
            ctx.finish();
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                ctx.launch(l);
                ctx.finish();
                best = Math.min(best, System.nanoTime() - t0);
            }
            return 8.0 * n / best;
        }
    }

    /** Median milliseconds per launch over repeat timed launches (after one warm-up launch), each waited for. */
    public static double medianMillis(ComputeContext ctx, Launch l, int repeat) {
        ctx.launch(l);
        ctx.finish();
        double[] t = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t0 = System.nanoTime();
            ctx.launch(l);
            ctx.finish();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(t);
        return t[repeat / 2];
    }

    public static Result run(ComputeContext ctx, Kernels k, Case c, int repeat) {
        try (Prepared p = c.prepare().apply(ctx)) {
            return new Result(c.name(), c.shape(), medianMillis(ctx, p.launch(k), repeat), p.bytes(), p.flops());
        }
    }
}
