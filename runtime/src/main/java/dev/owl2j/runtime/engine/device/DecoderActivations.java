package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.model.config.Owl2Config;

import java.util.ArrayList;
import java.util.List;

/**
 * The decoder's activations on the device, each [{@link #MAX_ROWS}, width]: shared by prefill chunks, decode
 * steps and batched steps of every session of one engine (device work is serialized on the engine), so they
 * are allocated once.
 */
final class DecoderActivations implements AutoCloseable {
    /** Rows per pass: prefill positions per chunk (longer prompts run in several) and sessions per batched step. */
    static final int MAX_ROWS = 256;

    private final ComputeContext ctx;
    private final int vocab;
    private final List<Buffer> all = new ArrayList<>();

    /** Residual stream, normed input, q, k, v, attention output, projection output, gate and up of the MLP. */
    final Buffer x, a, q, k, v, attn, tmp, gate, up;
    /** The last position's normed state and its logits. */
    final Buffer lastHidden, logits;
    /** Per-row token ids (-1 at visual positions) and modality flags of a prefill chunk; {position} of its first row. */
    final Buffer ids, modality, params;
    /** Scratch of the sampling kernel (vocab doubles). */
    final Buffer sampleWork;
    /** A batched step's {positions of the n sessions, then their tokens}. */
    final Buffer batchParams;
    private Buffer batchLogits;
    private int batchLogitsRows;

    DecoderActivations(ComputeContext ctx, Owl2Config cfg) {
        this.ctx = ctx;
        this.vocab = cfg.vocabSize();
        int hidden = cfg.hiddenSize(), qDim = cfg.numAttentionHeads() * cfg.headDim();
        int kvDim = cfg.numKeyValueHeads() * cfg.headDim(), inter = cfg.intermediateSize();
        x = alloc((long) MAX_ROWS * hidden);
        a = alloc((long) MAX_ROWS * hidden);
        q = alloc((long) MAX_ROWS * qDim);
        k = alloc((long) MAX_ROWS * kvDim);
        v = alloc((long) MAX_ROWS * kvDim);
        attn = alloc((long) MAX_ROWS * qDim);
        tmp = alloc((long) MAX_ROWS * hidden);
        gate = alloc((long) MAX_ROWS * inter);
        up = alloc((long) MAX_ROWS * inter);
        lastHidden = alloc(hidden);
        logits = alloc(vocab);
        ids = alloc(MAX_ROWS);
        modality = alloc(MAX_ROWS);
        params = alloc(4);
        sampleWork = alloc(2L * vocab); // vocab doubles
        batchParams = alloc(2L * MAX_ROWS);
    }

    /** Device bytes of the fixed activations, for the memory check before anything is uploaded. */
    static long bytes(Owl2Config cfg) {
        long hidden = cfg.hiddenSize(), qDim = (long) cfg.numAttentionHeads() * cfg.headDim();
        long kvDim = (long) cfg.numKeyValueHeads() * cfg.headDim(), inter = cfg.intermediateSize();
        return MAX_ROWS * (4L * hidden + 2L * qDim + 2L * kvDim + 2L * inter) * 4;
    }

    /** Logits of n batched rows, [n, vocab], grown on demand. */
    Buffer batchLogits(int n) {
        if (batchLogitsRows < n) {
            if (batchLogits != null) {
                all.remove(batchLogits);
                batchLogits.close();
            }
            batchLogits = alloc((long) n * vocab);
            batchLogitsRows = n;
        }
        return batchLogits;
    }

    /** Every buffer, for a task graph's resident declaration. */
    Buffer[] buffers() {
        return all.toArray(Buffer[]::new);
    }

    private Buffer alloc(long floats) {
        Buffer b = ctx.allocate(Math.max(1, floats) * 4);
        all.add(b);
        return b;
    }

    @Override
    public void close() {
        for (Buffer b : all) b.close();
        all.clear();
    }
}
