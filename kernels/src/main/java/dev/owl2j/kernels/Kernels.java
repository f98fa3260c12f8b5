package dev.owl2j.kernels;

import static dev.owl2j.kernels.Launch.Access.in;
import static dev.owl2j.kernels.Launch.Access.inOut;
import static dev.owl2j.kernels.Launch.Access.out;
import static dev.owl2j.kernels.Launch.roundUp;

import dev.owl2j.kernels.ops.Ops;

import java.util.function.UnaryOperator;

/**
 * The standard transformer kernels (written in Java, package dev.owl2j.kernels.ops, compiled for the context's
 * device) as {@link Launch} builders that can be launched at once ({@code ctx.launch(k.add(...))}) or recorded
 * into a {@link TaskGraph}. Offsets and sizes are in float elements unless named otherwise. Matrices are
 * row-major; y = W·x with W [rows, cols]. The one kernel not written in Java is the CUDA tensor-core matmul
 * (inline PTX mma, {@link #matmulTensorCores}).
 */
public final class Kernels {
    /** Work-group size of the row reductions (Reductions.RED in the kernels). */
    public static final int RED = 64;
    /** Matmul tile edge (Matmul.TILE). */
    public static final int TILE = 16;
    /** Largest head dimension the attention kernel supports (Attention.MAX_HEAD_DIM). */
    public static final int MAX_HEAD_DIM = 256;
    private static final int ELEMENTWISE = 64;
    /** Work-group size of the sampling kernel (Sampling.SWG). */
    public static final int SAMPLE_GROUP = 256;
    /** Ints of a sampling parameter block: temperature, top-p, uniform (two words each), top-k, result. */
    public static final int SAMPLE_PARAMS = 8;

    /** Warps per block and tokens per warp of matmul_tc_f16 (TC_WARPS, TC_TOKENS in matmul_tc_f16.cu). */
    private static final int TC_WARPS = 4, TC_TOKENS = 32;

    private final ComputeContext ctx;
    private final Program program;
    private final Program tensorCores;
    private final UnaryOperator<String> names;
    private final boolean tensorCoreMatmul;

    private Kernels(ComputeContext ctx, Program program, Program tensorCores, UnaryOperator<String> names) {
        this.ctx = ctx;
        this.program = program;
        this.tensorCores = tensorCores;
        this.names = names;
        this.tensorCoreMatmul = tensorCores != null && has(tensorCores, "matmul_tc_f16");
    }

    /** The tensor-core kernel exists only in CUDA builds for sm_80 and newer (see matmul_tc_f16.cu). */
    private static boolean has(Program p, String kernel) {
        try {
            p.kernel(kernel);
            return true;
        } catch (DeviceException e) {
            return false;
        }
    }

    /**
     * Whether {@link #matmulTensorCores} is available: CUDA devices of compute capability 8.0 and newer.
     * Never on OpenCL. UNEXECUTED path: written without access to an NVIDIA GPU.
     */
    public boolean tensorCoreMatmul() {
        return tensorCoreMatmul;
    }

    /**
     * y[t, r] = W[r,:]·x[t,:] on tensor cores: F16 weights, activations rounded to F16, F32 accumulation
     * (mma.sync m16n8k16). cols must be a multiple of 16. Only when {@link #tensorCoreMatmul()}.
     */
    public Launch matmulTensorCores(Buffer w, Buffer x, int xOff, int xStride, Buffer y, int yOff, int yStride,
                                    int rows, int cols, int n) {
        if (!tensorCoreMatmul) throw new DeviceException("this device has no tensor-core matmul");
        if (cols % 16 != 0) throw new DeviceException("tensor-core matmul needs cols a multiple of 16, got " + cols);
        long blocks = (rows + 16L * TC_WARPS - 1) / (16L * TC_WARPS);
        long tokenTiles = (n + TC_TOKENS - 1) / TC_TOKENS;
        return new Launch(tensorCores.kernel("matmul_tc_f16"), g(blocks * 32 * TC_WARPS, tokenTiles), g(32L * TC_WARPS, 1),
                new Object[]{in(w), in(x), xOff, xStride, out(y), yOff, yStride, rows, cols, n});
    }

    /** Compiles (or loads from the kernel cache) the kernels for this context. */
    public static Kernels load(ComputeContext ctx) {
        return load(ctx, "");
    }

    /** With extra compiler options, e.g. "-DOWL_NO_FP64" to test the sampling kernel's float fallback. */
    public static Kernels load(ComputeContext ctx, String options) {
        Program p = ctx.compile(Ops.PROGRAM, options);
        Program tc = null;
        if (ctx.device().api() == Api.CUDA && ctx.device().tensorCores()) {
            tc = ctx.compile("matmul_tc_f16", KernelSources.resource("matmul_tc_f16.cu"), options);
        }
        return new Kernels(ctx, p, tc, UnaryOperator.identity());
    }

    /**
     * Launch builders over another build of the same kernels with the same parameters, e.g. their earlier C
     * source for a timing comparison; names maps a kernel's Java name (linearF16) to the program's entry point.
     */
    static Kernels over(ComputeContext ctx, Program program, UnaryOperator<String> names) {
        return new Kernels(ctx, program, null, names);
    }

    public Program program() {
        return program;
    }

    public ComputeContext context() {
        return ctx;
    }

    private Kernel k(String name) {
        return program.kernel(names.apply(name));
    }

    /** The Java kernels are named per weight type: linearF32, linearQ8_0, ... */
    private static String t(WeightType type) {
        return type.name();
    }

    private static long[] g(long... v) {
        return v;
    }

    private static Launch elementwise(Kernel k, int n, Object... args) {
        return new Launch(k, g(roundUp(Math.max(1, n), ELEMENTWISE)), g(ELEMENTWISE), args);
    }

    /** y[t, r] = W[r,:]·x[t,:] for n tokens, one work group per (row, token): the decode matvec. */
    public Launch linear(WeightType type, Buffer w, Buffer x, int xOff, int xStride, Buffer y, int yOff, int yStride,
                         int rows, int cols, int n) {
        checkCols(type, cols);
        return new Launch(k("linear" + t(type)), g((long) rows * RED, n), g(RED, 1),
                new Object[]{in(w), in(x), xOff, xStride, out(y), yOff, yStride, rows, cols});
    }

    /** Most tokens one {@link #linearBatch} launch takes (LinearBatch.MAX_BATCH). */
    public static final int MAX_BATCH = 8;

    /**
     * y[t, r] = W[r,:]·x[t,:] for n ≤ {@link #MAX_BATCH} tokens with one work group per row that reads the row
     * once for all tokens (batched decode of several sessions); same results as {@link #linear}.
     */
    public Launch linearBatch(WeightType type, Buffer w, Buffer x, int xOff, int xStride, Buffer y, int yOff, int yStride,
                              int rows, int cols, int n) {
        checkCols(type, cols);
        if (n < 1 || n > MAX_BATCH) throw new DeviceException("linearBatch takes 1.." + MAX_BATCH + " tokens, got " + n);
        return new Launch(k("linearBatch" + t(type)), g((long) rows * RED), g(RED),
                new Object[]{in(w), in(x), xOff, xStride, out(y), yOff, yStride, rows, cols, n});
    }

    /** {@link #linear} with the matrix chosen per token: modality[mOff + t] == 0 → w0, else w1. */
    public Launch linearSelect(WeightType type, Buffer w0, Buffer w1, Buffer modality, int mOff,
                               Buffer x, int xOff, int xStride, Buffer y, int yOff, int yStride, int rows, int cols, int n) {
        checkCols(type, cols);
        return new Launch(k("linearSelect" + t(type)), g((long) rows * RED, n), g(RED, 1),
                new Object[]{in(w0), in(w1), in(modality), mOff, in(x), xOff, xStride, out(y), yOff, yStride, rows, cols});
    }

    /** Tiled y[t, r] = W[r,:]·x[t,:] for many tokens (prefill, vision); F32/F16/BF16 weights. */
    public Launch matmul(WeightType type, Buffer w, Buffer x, int xOff, int xStride, Buffer y, int yOff, int yStride,
                         int rows, int cols, int n) {
        if (type.quantized()) throw new DeviceException("matmul takes F32/F16/BF16 weights; use linear for " + type);
        return new Launch(k("matmul" + t(type)), g(roundUp(rows, TILE), roundUp(n, TILE)), g(TILE, TILE),
                new Object[]{in(w), in(x), xOff, xStride, out(y), yOff, yStride, rows, cols, n});
    }

    private static void checkCols(WeightType type, int cols) {
        if (cols % type.blockSize != 0) throw new DeviceException(type + " rows must be a multiple of " + type.blockSize + " long, got " + cols);
    }

    public Launch rmsnorm(Buffer x, int xOff, Buffer out, int outOff, Buffer w, int rows, int n, float eps) {
        return new Launch(k("rmsnorm"), g((long) rows * RED), g(RED), new Object[]{in(x), xOff, out(out), outOff, in(w), n, eps});
    }

    public Launch rmsnormSelect(Buffer x, int xOff, Buffer out, int outOff, Buffer w0, Buffer w1, Buffer modality, int mOff,
                                int rows, int n, float eps) {
        return new Launch(k("rmsnormSelect"), g((long) rows * RED), g(RED),
                new Object[]{in(x), xOff, out(out), outOff, in(w0), in(w1), in(modality), mOff, n, eps});
    }

    /** LayerNorm of rows; out may be x. */
    public Launch layernorm(Buffer x, int xOff, Buffer out, int outOff, Buffer w, Buffer b, int rows, int n, float eps) {
        return new Launch(k("layernorm"), g((long) rows * RED), g(RED),
                new Object[]{in(x), xOff, x == out ? inOut(out) : out(out), outOff, in(w), in(b), n, eps});
    }

    public Launch softmax(Buffer x, int xOff, int rows, int n) {
        return new Launch(k("softmax"), g((long) rows * RED), g(RED), new Object[]{inOut(x), xOff, n});
    }

    /**
     * Rotate-half RoPE in place on n rows of x (row t at position params[pIdx] + t), heads of headDim at
     * x[xOff + t·rowStride + h·headDim]; cos/sin tables are [positions, headDim/2].
     */
    public Launch rope(Buffer x, int xOff, int rowStride, int heads, int headDim, Buffer cos, Buffer sin,
                       Buffer params, int pIdx, int n) {
        return elementwise(k("rope"), n * heads * (headDim / 2),
                inOut(x), xOff, rowStride, heads, headDim, in(cos), in(sin), in(params), pIdx, n);
    }

    /** Where the heads of a set of rows live: element d of head h in row t is at off + t·row + h·head + d. */
    public record Layout(Buffer buffer, int off, int row, int head) {}

    /**
     * Attention with online softmax for nQueries query rows. causal: query row i is at position
     * params[pIdx] + i and sees keys up to it; otherwise every query sees nKeys keys (params may be any int
     * buffer then).
     */
    public Launch attention(Layout q, Layout k, Layout v, Layout o, int nQueries, int heads, int kvHeads, int headDim,
                            float scale, boolean causal, int nKeys, Buffer params, int pIdx) {
        if (headDim > MAX_HEAD_DIM) throw new DeviceException("head dim " + headDim + " exceeds " + MAX_HEAD_DIM);
        if (heads % kvHeads != 0) throw new DeviceException(heads + " heads cannot share " + kvHeads + " kv heads");
        return new Launch(k("attention"), g((long) heads * RED, nQueries), g(RED, 1), new Object[]{
                in(q.buffer()), q.off(), q.row(), q.head(),
                in(k.buffer()), k.off(), k.row(), k.head(),
                in(v.buffer()), v.off(), v.row(), v.head(),
                out(o.buffer()), o.off(), o.row(), o.head(),
                heads, kvHeads, headDim, scale, causal ? 1 : 0, nKeys, in(params), pIdx});
    }

    /** gate = SiLU(gate)·up over n elements. */
    public Launch siluMul(Buffer gate, Buffer up, int n) {
        return elementwise(k("siluMul"), n, inOut(gate), in(up), n);
    }

    public Launch quickGelu(Buffer x, int n) {
        return elementwise(k("quickGelu"), n, inOut(x), n);
    }

    /** y[yOff + i] += x[xOff + i]. */
    public Launch add(Buffer y, int yOff, Buffer x, int xOff, int n) {
        return elementwise(k("add"), n, inOut(y), yOff, in(x), xOff, n);
    }

    /** Adds bias b [cols] to each of rows rows of y starting at yOff. */
    public Launch biasAdd(Buffer y, int yOff, Buffer b, int rows, int cols) {
        return elementwise(k("biasAdd"), rows * cols, inOut(y), yOff, in(b), rows, cols);
    }

    public Launch scale(Buffer x, int xOff, float s, int n) {
        return elementwise(k("scale"), n, inOut(x), xOff, s, n);
    }

    public Launch copy(Buffer dst, int dstOff, Buffer src, int srcOff, int n) {
        return elementwise(k("copy"), n, out(dst), dstOff, in(src), srcOff, n);
    }

    /** Writes n rows of rowLen floats from src at row params[pIdx] of dst (KV-cache append). */
    public Launch copyRowsAt(Buffer dst, Buffer src, int srcOff, int rowLen, int n, Buffer params, int pIdx) {
        return elementwise(k("copyRowsAt"), n * rowLen, inOut(dst), in(src), srcOff, rowLen, n, in(params), pIdx);
    }

    /** out[t,:] = table[ids[idsOff + t], :] (F32/F16/BF16 table [vocab, cols]); negative ids leave the row alone. */
    public Launch gatherRows(WeightType type, Buffer table, Buffer ids, int idsOff, Buffer out, int cols, int n) {
        if (type.quantized()) throw new DeviceException("embedding tables must be F32/F16/BF16, not " + type);
        return new Launch(k("gatherRows" + t(type)), g(roundUp(cols, ELEMENTWISE), n), g(ELEMENTWISE, 1),
                new Object[]{in(table), in(ids), idsOff, inOut(out), cols, n});
    }

    /** out[outIdx] = argmax of x[xOff .. xOff+n) (lowest index on ties). */
    public Launch argmax(Buffer x, int xOff, int n, Buffer out, int outIdx) {
        return new Launch(k("argmax"), g(RED), g(RED), new Object[]{in(x), xOff, n, out(out), outIdx});
    }

    /**
     * Draws the next token from x[xOff .. xOff+n) on the device in the host Sampler's order (temperature,
     * top-k, top-p keeping at least one, softmax, multinomial with the host's uniform); see Sampling.sample. The
     * parameters are the {@link #SAMPLE_PARAMS} ints at params[pIdx] written by {@link #packSampling}; the
     * token lands in params[pIdx + 7]. work: scratch of at least n doubles (8n bytes).
     */
    public Launch sample(Buffer x, int xOff, int n, Buffer work, Buffer params, int pIdx) {
        if (work.bytes() < 8L * n) throw new DeviceException("sampling scratch needs " + 8L * n + " bytes, has " + work.bytes());
        return new Launch(k("sample"), g(SAMPLE_GROUP), g(SAMPLE_GROUP),
                new Object[]{in(x), xOff, n, out(work), inOut(params), pIdx});
    }

    /** Writes a sampling parameter block into host[at .. at+SAMPLE_PARAMS). temperature 0 = argmax. */
    public static void packSampling(int[] host, int at, double temperature, int topK, double topP, double uniform) {
        putDouble(host, at, temperature);
        putDouble(host, at + 2, topP);
        putDouble(host, at + 4, uniform);
        host[at + 6] = topK;
        host[at + 7] = -1;
    }

    private static void putDouble(int[] host, int at, double v) {
        long bits = Double.doubleToRawLongBits(v);
        host[at] = (int) bits;
        host[at + 1] = (int) (bits >>> 32);
    }
}
