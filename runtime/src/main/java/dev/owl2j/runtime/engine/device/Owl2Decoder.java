package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.ExecutionPlan;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.kernels.TaskGraph;
import dev.owl2j.kernels.WeightType;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.host.RopeTables;
import dev.owl2j.model.host.Splice;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.runtime.engine.device.DecoderLayer.Pass;
import dev.owl2j.runtime.engine.device.DecoderLayer.Run;
import dev.owl2j.runtime.engine.device.DeviceWeights.Mat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The LLaMA-2 decoder with the Modality-Adaptive Module on the device (docs/model.md, Decoder): embed_tokens,
 * the layers, the final RMSNorm model.norm and lm_head, with the rotary tables for every position. It runs the
 * three kinds of pass (a prefill chunk, the decode step as a replayed task graph, a batched step of several
 * sessions); each goes through the same {@link DecoderLayer#forward}.
 */
final class Owl2Decoder {
    private final ComputeContext ctx;
    private final Kernels k;
    private final LinearKernels lin;
    private final DecoderActivations act;
    private final int hidden, vocab;
    private final float eps;

    private final Buffer embedTokens;     // model.embed_tokens.weight [vocab, hidden], as stored (F32/F16/BF16)
    private final WeightType embedType;
    private final DecoderLayer[] layers;  // model.layers.N
    private final Buffer norm;            // model.norm.weight
    private final Mat lmHead;             // lm_head.weight, kept as stored: logits are what we compare

    Owl2Decoder(DeviceWeights w, Owl2Config cfg, DType quant, ComputeContext ctx, Kernels k, LinearKernels lin) {
        this.ctx = ctx;
        this.k = k;
        this.lin = lin;
        this.hidden = cfg.hiddenSize();
        this.vocab = cfg.vocabSize();
        this.eps = (float) cfg.rmsNormEps();
        DType stored = w.tensor(ExpectedTensors.EMBED_TOKENS).dtype();
        if (stored.isQuantized()) {
            throw new Owl2jException(ExpectedTensors.EMBED_TOKENS + " must be stored as a float type, not " + stored);
        }
        Mat e = w.matrix(ExpectedTensors.EMBED_TOKENS, null);
        this.embedTokens = e.buffer();
        this.embedType = e.type();
        // rotate-half RoPE tables for every position the context holds (docs/model.md, RoPE)
        float[][] rope = RopeTables.compute(cfg.headDim(), cfg.ropeTheta(), cfg.maxPositionEmbeddings());
        Buffer ropeCos = w.upload(rope[0]), ropeSin = w.upload(rope[1]);
        this.layers = new DecoderLayer[cfg.numHiddenLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new DecoderLayer(w, cfg, l, quant, k, lin, ropeCos, ropeSin);
        }
        this.norm = w.vector(ExpectedTensors.NORM);
        this.lmHead = w.matrix(ExpectedTensors.LM_HEAD, null);
        this.act = new DecoderActivations(ctx, cfg);
    }

    /** Device bytes of the rope tables, for the memory check. */
    static long ropeBytes(Owl2Config cfg) {
        return 2L * cfg.maxPositionEmbeddings() * (cfg.headDim() / 2) * 4;
    }

    WeightType embedType() {
        return embedType;
    }

    /**
     * Runs positions [c0, c0 + n) of a spliced prompt (n ≤ {@link DecoderActivations#MAX_ROWS}) at the session's
     * next positions; with {@code last}, leaves the last position's logits in the activations' logits buffer.
     */
    void prefillChunk(Splice plan, List<? extends VisualRows> images, int c0, int n, int position, Buffer[] keys, Buffer[] values,
                      boolean last) {
        Launcher run = Launcher.direct(ctx);
        int[] ids = Arrays.copyOfRange(plan.ids(), c0, c0 + n);
        int[] modality = Arrays.copyOfRange(plan.modality(), c0, c0 + n);
        act.ids.write(ids, 0);
        act.modality.write(modality, 0);
        act.params.write(new int[]{position}, 0);
        // splice: the visual rows of each image run, then the text rows gathered from embed_tokens (-1 ids skipped)
        for (int t = 0; t < n; ) {
            int image = plan.image()[c0 + t];
            if (image < 0) {
                t++;
                continue;
            }
            int e = t;
            while (e < n && plan.image()[c0 + e] == image) e++;
            images.get(image).copyRows(run, plan.row()[c0 + t], e - t, act.x, t * hidden);
            t = e;
        }
        run.launch("embed", k.gatherRows(embedType, embedTokens, act.ids, 0, act.x, hidden, n));
        Pass pass = new Pass(n, modality, false, new Run[]{new Run(keys, values, 0, n, act.params, 0)});
        for (DecoderLayer layer : layers) {
            layer.forward(run, act, pass);
        }
        if (last) {
            // final RMSNorm and lm_head on the last position only
            run.launch("final_norm", k.rmsnorm(act.x, (n - 1) * hidden, act.lastHidden, 0, norm, 1, hidden, eps));
            run.launch("lm_head", lin.mm(lmHead, act.lastHidden, 0, hidden, act.logits, 0, vocab, 1));
        }
    }

    /** The logits a finished prefill left on the device. */
    float[] readLogits() {
        ctx.finish();
        return act.logits.readFloats(0, vocab);
    }

    /**
     * The decode step of one session as a task graph: {position, token, sampling block} uploaded from
     * {@code stepHost} every run; the logits downloaded into {@code logitsHost}, or with {@code sampled} the
     * token the sampling kernel picked from them into {@code sampledHost}. Generated tokens are text: way 0.
     */
    ExecutionPlan decodePlan(Buffer stepParams, int[] stepHost, Buffer[] keys, Buffer[] values, List<Buffer> weights,
                             boolean sampled, int[] sampledHost, float[] logitsHost) {
        TaskGraph g = new TaskGraph("decode-step")
                .transferToDevice(TaskGraph.Mode.EVERY_EXECUTION, stepParams, stepHost)
                .resident(weights.toArray(Buffer[]::new))
                .resident(act.buffers())
                .resident(keys).resident(values);
        Launcher run = Launcher.into(g);
        run.launch("embed", k.gatherRows(embedType, embedTokens, stepParams, 1, act.x, hidden, 1));
        Pass pass = new Pass(1, null, false, new Run[]{new Run(keys, values, 0, 1, stepParams, 0)});
        for (DecoderLayer layer : layers) {
            layer.forward(run, act, pass);
        }
        run.launch("final_norm", k.rmsnorm(act.x, 0, act.lastHidden, 0, norm, 1, hidden, eps));
        run.launch("lm_head", lin.mm(lmHead, act.lastHidden, 0, hidden, act.logits, 0, vocab, 1));
        if (sampled) {
            run.launch("sample", k.sample(act.logits, 0, vocab, act.sampleWork, stepParams, 2));
            g.transferToHost(stepParams, sampledHost);
        } else {
            g.transferToHost(act.logits, logitsHost);
        }
        return g.plan(ctx);
    }

    /**
     * One decode step of n ≤ {@link DecoderActivations#MAX_ROWS} sessions in one set of launches: the weight
     * matrices are read once per row for all sessions' tokens, while RoPE, the KV append and attention run per
     * session at its own position over its own cache. Logits equal those of single steps.
     */
    List<float[]> stepBatch(int[] positions, int[] tokens, Buffer[][] keys, Buffer[][] values) {
        int n = tokens.length;
        int[] host = new int[2 * n];
        System.arraycopy(positions, 0, host, 0, n);
        System.arraycopy(tokens, 0, host, n, n);
        act.batchParams.write(host, 0);
        Buffer logits = act.batchLogits(n);
        Launcher run = Launcher.direct(ctx);
        run.launch("embed", k.gatherRows(embedType, embedTokens, act.batchParams, n, act.x, hidden, n));
        Run[] runs = new Run[n];
        for (int i = 0; i < n; i++) {
            runs[i] = new Run(keys[i], values[i], i, 1, act.batchParams, i);
        }
        Pass pass = new Pass(n, null, true, runs);
        for (DecoderLayer layer : layers) {
            layer.forward(run, act, pass);
        }
        run.launch("final_norm", k.rmsnorm(act.x, 0, act.a, 0, norm, n, hidden, eps));
        lin.batched(run, "lm_head", lmHead, act.a, hidden, logits, vocab, n);
        ctx.finish();
        float[] all = logits.readFloats(0, n * vocab);
        List<float[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab));
        }
        return out;
    }

    void close() {
        act.close();
    }
}
