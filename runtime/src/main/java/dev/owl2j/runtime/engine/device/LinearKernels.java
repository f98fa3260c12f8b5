package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.WeightType;
import dev.owl2j.runtime.engine.device.DeviceWeights.Mat;

/**
 * Which kernel computes y = W·x for a weight matrix on the device, and the common forms built on it (with
 * bias, per modality, batched over sessions): the device counterpart of the CPU's {@code Linears}.
 */
final class LinearKernels {
    /** Fewer rows than this go through the float matmul even where tensor cores exist (mma tiles are 8 tokens). */
    private static final int TENSOR_CORE_MIN_TOKENS = 8;

    private final Kernels k;
    private final boolean tensorCores;

    /** @param tensorCores false keeps prefill in F32 arithmetic on CUDA too (F16-rounded activations cost precision) */
    LinearKernels(Kernels k, boolean tensorCores) {
        this.k = k;
        this.tensorCores = tensorCores;
    }

    /**
     * y[t] = W·x[t] for n rows: tiled matmul for many rows of float weights (on CUDA sm_80+ with F16 weights:
     * tensor cores, activations rounded to F16, F32 accumulation; unexecuted, see docs/gpu.md), the matvec
     * kernel otherwise.
     */
    Launch mm(Mat m, Buffer in, int inOff, int inStride, Buffer out, int outOff, int outStride, int n) {
        if (m.type().quantized() || n <= 2) {
            return k.linear(m.type(), m.buffer(), in, inOff, inStride, out, outOff, outStride, m.rows(), m.cols(), n);
        }
        if (m.type() == WeightType.F16 && n >= TENSOR_CORE_MIN_TOKENS && tensorCores && k.tensorCoreMatmul() && m.cols() % 16 == 0) {
            return k.matmulTensorCores(m.buffer(), in, inOff, inStride, out, outOff, outStride, m.rows(), m.cols(), n);
        }
        return k.matmul(m.type(), m.buffer(), in, inOff, inStride, out, outOff, outStride, m.rows(), m.cols(), n);
    }

    /** y = W·x + b over n contiguous rows. */
    void affine(Launcher run, String task, Mat m, Buffer bias, Buffer in, int inOff, Buffer out, int outOff, int n) {
        run.launch(task, mm(m, in, inOff, m.cols(), out, outOff, m.rows(), n));
        run.launch(task + ".bias", k.biasAdd(out, outOff, bias, n, m.rows()));
    }

    /**
     * y[t] = W·x[t] for n contiguous rows that belong to different sessions (a batched decode step): each
     * weight row is read once per launch of up to {@link Kernels#MAX_BATCH} rows.
     */
    void batched(Launcher run, String task, Mat m, Buffer in, int inStride, Buffer out, int outStride, int n) {
        for (int t0 = 0; t0 < n; t0 += Kernels.MAX_BATCH) {
            int b = Math.min(Kernels.MAX_BATCH, n - t0);
            run.launch(task, k.linearBatch(m.type(), m.buffer(), in, t0 * inStride, inStride, out, t0 * outStride, outStride,
                    m.rows(), m.cols(), b));
        }
    }

    /**
     * The Modality-Adaptive Module's y[t] = W[modality[t]]·x[t] (modality on the host in {@code mod} and on the
     * device in {@code modality}): with quantized weights or few rows one select launch; with float weights one
     * tiled matmul per run of equal modality (a chunk is usually text, one image, text).
     */
    void multiway(Launcher run, String task, Mat[] ways, int[] mod, Buffer modality, Buffer in, Buffer out, int n) {
        Mat m0 = ways[0];
        if (m0.type().quantized() || n <= 2) {
            run.launch(task, k.linearSelect(m0.type(), m0.buffer(), ways[1].buffer(), modality, 0, in, 0, m0.cols(), out, 0,
                    m0.rows(), m0.rows(), m0.cols(), n));
            return;
        }
        int s = 0;
        while (s < n) {
            int e = s;
            while (e < n && mod[e] == mod[s]) e++;
            Mat m = ways[mod[s]];
            run.launch(task, mm(m, in, s * m.cols(), m.cols(), out, s * m.rows(), m.rows(), e - s));
            s = e;
        }
    }
}
