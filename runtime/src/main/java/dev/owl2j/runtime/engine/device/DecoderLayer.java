package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.kernels.Kernels.Layout;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.checkpoint.ExpectedTensors.DecoderLayerNames;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.runtime.engine.device.DeviceWeights.Mat;

/**
 * One LLaMA decoder layer with the Modality-Adaptive Module on the device (docs/model.md, Decoder): the two
 * RMSNorms, k_proj and v_proj exist twice ({@code multiway.0} text, {@code multiway.1} visual) and each
 * position uses the way of its modality; q_proj, o_proj and the MLP are shared. Fields are named after the
 * checkpoint's tensors under {@code model.layers.N.}. {@link #forward} is the layer's only body: a prefill
 * chunk, the replayed decode step and a batched step of several sessions all emit their launches through it.
 */
final class DecoderLayer {
    private static final int WAYS = 2;

    /**
     * The rows one pass advances. {@code modality} holds the host copy of the per-row flags (null: every row is
     * a generated text token, so way 0 throughout); {@code batched}: the rows belong to different sessions, so
     * the projections read each weight row once for all of them; {@code runs}: which rows continue which cache.
     */
    record Pass(int n, int[] modality, boolean batched, Run[] runs) {}

    /**
     * {@code rows} consecutive rows from {@code row0} that continue one session: its key and value cache for this
     * layer, and the position of its first row at {@code positions[positionIndex]} on the device.
     */
    record Run(Buffer[] keys, Buffer[] values, int row0, int rows, Buffer positions, int positionIndex) {}

    private final int index;
    private final Kernels k;
    private final LinearKernels lin;
    private final int hidden, heads, kvHeads, headDim, kvDim, qDim, inter;
    private final float eps;
    private final Buffer ropeCos, ropeSin;

    private final Buffer[] inputLayernorm = new Buffer[WAYS];         // input_layernorm.multiway.{0,1}.weight
    private final Mat qProj;                                          // self_attn.q_proj.weight (shared)
    private final Mat[] kProj = new Mat[WAYS];                        // self_attn.k_proj.multiway.{0,1}.weight
    private final Mat[] vProj = new Mat[WAYS];                        // self_attn.v_proj.multiway.{0,1}.weight
    private final Mat oProj;                                          // self_attn.o_proj.weight
    private final Buffer[] postAttentionLayernorm = new Buffer[WAYS]; // post_attention_layernorm.multiway.{0,1}.weight
    private final Mat gateProj, upProj, downProj;                     // mlp.*

    /** @param quant Q8_0 or Q4_0 to quantize the linears at upload, or null to keep them as stored */
    DecoderLayer(DeviceWeights w, Owl2Config cfg, int index, DType quant, Kernels k, LinearKernels lin, Buffer ropeCos, Buffer ropeSin) {
        this.index = index;
        this.k = k;
        this.lin = lin;
        this.hidden = cfg.hiddenSize();
        this.heads = cfg.numAttentionHeads();
        this.kvHeads = cfg.numKeyValueHeads();
        this.headDim = cfg.headDim();
        this.kvDim = kvHeads * headDim;
        this.qDim = heads * headDim;
        this.inter = cfg.intermediateSize();
        this.eps = (float) cfg.rmsNormEps();
        this.ropeCos = ropeCos;
        this.ropeSin = ropeSin;
        DecoderLayerNames n = ExpectedTensors.decoderLayer(index);
        for (int m = 0; m < WAYS; m++) {
            inputLayernorm[m] = w.vector(n.inputLayernorm(m));
            kProj[m] = w.matrix(n.kProj(m), quant);
            vProj[m] = w.matrix(n.vProj(m), quant);
            postAttentionLayernorm[m] = w.vector(n.postAttentionLayernorm(m));
        }
        qProj = w.matrix(n.qProj(), quant);
        oProj = w.matrix(n.oProj(), quant);
        gateProj = w.matrix(n.gateProj(), quant);
        upProj = w.matrix(n.upProj(), quant);
        downProj = w.matrix(n.downProj(), quant);
    }

    /** Advances the residual stream act.x [pass.n, hidden] through this layer, appending to the runs' caches. */
    void forward(Launcher run, DecoderActivations act, Pass pass) {
        String p = "layer" + index + ".";
        int n = pass.n();
        // a = RMSNorm_in[m](x); q = Wq·a (shared); k = Wk[m]·a, v = Wv[m]·a (the MAM's per-modality parts)
        norm(run, p + "input_norm", inputLayernorm, act, pass);
        project(run, p + "q_proj", qProj, act.a, hidden, act.q, qDim, pass);
        if (pass.modality() == null) {
            project(run, p + "k_proj", kProj[0], act.a, hidden, act.k, kvDim, pass);
            project(run, p + "v_proj", vProj[0], act.a, hidden, act.v, kvDim, pass);
        } else {
            lin.multiway(run, p + "k_proj", kProj, pass.modality(), act.modality, act.a, act.k, n);
            lin.multiway(run, p + "v_proj", vProj, pass.modality(), act.modality, act.a, act.v, n);
        }
        // rotate-half RoPE on q and k at each row's position, k and v appended to the cache, then causal attention
        // over every cached position up to the row's own, scores / √headDim (docs/model.md, RoPE and Decoder)
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (Run r : pass.runs()) {
            Buffer keys = r.keys()[index], values = r.values()[index];
            run.launch(p + "rope_q", k.rope(act.q, r.row0() * qDim, qDim, heads, headDim, ropeCos, ropeSin, r.positions(), r.positionIndex(), r.rows()));
            run.launch(p + "rope_k", k.rope(act.k, r.row0() * kvDim, kvDim, kvHeads, headDim, ropeCos, ropeSin, r.positions(), r.positionIndex(), r.rows()));
            run.launch(p + "cache_k", k.copyRowsAt(keys, act.k, r.row0() * kvDim, kvDim, r.rows(), r.positions(), r.positionIndex()));
            run.launch(p + "cache_v", k.copyRowsAt(values, act.v, r.row0() * kvDim, kvDim, r.rows(), r.positions(), r.positionIndex()));
            run.launch(p + "attention", k.attention(new Layout(act.q, r.row0() * qDim, qDim, headDim),
                    new Layout(keys, 0, kvDim, headDim), new Layout(values, 0, kvDim, headDim),
                    new Layout(act.attn, r.row0() * qDim, qDim, headDim),
                    r.rows(), heads, kvHeads, headDim, scale, true, 0, r.positions(), r.positionIndex()));
        }
        // x = x + Wo·attn
        project(run, p + "o_proj", oProj, act.attn, qDim, act.tmp, hidden, pass);
        run.launch(p + "residual1", k.add(act.x, 0, act.tmp, 0, n * hidden));
        // b = RMSNorm_post[m](x); x = x + Wdown·(SiLU(Wgate·b) ⊙ Wup·b)
        norm(run, p + "post_norm", postAttentionLayernorm, act, pass);
        project(run, p + "gate_proj", gateProj, act.a, hidden, act.gate, inter, pass);
        project(run, p + "up_proj", upProj, act.a, hidden, act.up, inter, pass);
        run.launch(p + "silu_mul", k.siluMul(act.gate, act.up, n * inter));
        project(run, p + "down_proj", downProj, act.gate, inter, act.tmp, hidden, pass);
        run.launch(p + "residual2", k.add(act.x, 0, act.tmp, 0, n * hidden));
    }

    /** act.a = RMSNorm(act.x) with each row's way (way 0 for all-text passes). */
    private void norm(Launcher run, String task, Buffer[] ways, DecoderActivations act, Pass pass) {
        if (pass.modality() == null) {
            run.launch(task, k.rmsnorm(act.x, 0, act.a, 0, ways[0], pass.n(), hidden, eps));
        } else {
            run.launch(task, k.rmsnormSelect(act.x, 0, act.a, 0, ways[0], ways[1], act.modality, 0, pass.n(), hidden, eps));
        }
    }

    /** out = W·in over the pass's rows: per-row kernel choice, or batched over sessions. */
    private void project(Launcher run, String task, Mat m, Buffer in, int inStride, Buffer out, int outStride, Pass pass) {
        if (pass.batched()) {
            lin.batched(run, task, m, in, inStride, out, outStride, pass.n());
        } else {
            run.launch(task, lin.mm(m, in, 0, inStride, out, 0, outStride, pass.n()));
        }
    }
}
