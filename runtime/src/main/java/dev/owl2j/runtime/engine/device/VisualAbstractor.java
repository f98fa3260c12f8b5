package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.kernels.Kernels.Layout;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.checkpoint.ExpectedTensors.AbstractorLayerNames;
import dev.owl2j.model.checkpoint.ExpectedTensors.AbstractorNames;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.config.Owl2Config.AbstractorConfig;
import dev.owl2j.model.host.SinCosPositions;
import dev.owl2j.runtime.engine.device.DeviceWeights.Mat;

import java.util.ArrayList;
import java.util.List;

/**
 * The visual abstractor on the device (docs/model.md, Abstractor): 64 learned queries cross-attend, layer by
 * layer, to [themselves ; the 1025 vision tokens]; visual_fc projects them to the decoder width and vit_eos is
 * appended: 65 visual tokens. Fields are named after the checkpoint's tensors under
 * {@code model.visual_abstractor.}.
 */
final class VisualAbstractor {
    /** encoder.layers.N.crossattention.* */
    private record Layer(Buffer norm1Weight, Buffer norm1Bias, Buffer normkWeight, Buffer normkBias, Buffer qPosEmbed, Buffer kPosEmbed,
                         Mat query, Buffer queryBias, Mat key, Buffer keyBias, Mat value, Buffer valueBias,
                         Mat outProj, Buffer outProjBias, Buffer norm2Weight, Buffer norm2Bias,
                         Mat w1, Buffer w1Bias, Mat w3, Buffer w3Bias, Buffer ffnLnWeight, Buffer ffnLnBias, Mat w2, Buffer w2Bias) {}

    private final AbstractorConfig cfg;
    private final int imageTokens, outHidden;
    private final ComputeContext ctx;
    private final Kernels k;
    private final LinearKernels lin;

    private final Buffer queryEmbeds;    // query_embeds [64, hidden]
    private final Layer[] layers;
    private final Mat visualFc;          // visual_fc [decoder hidden, hidden]
    private final Buffer visualFcBias;
    private final Buffer vitEos;         // vit_eos [decoder hidden]

    /** Activations, allocated on the first image: h, C = [hn ; Xn], C with positions, Q, K, V, attention, MLP. */
    private final List<Buffer> activations = new ArrayList<>();
    private Buffer h, c, withPos, q, key, value, attn, tmp, gate, up, noParams;

    VisualAbstractor(DeviceWeights w, Owl2Config config, ComputeContext ctx, Kernels k, LinearKernels lin) {
        this.cfg = config.abstractor();
        this.imageTokens = config.vision().seqLen();
        this.outHidden = config.hiddenSize();
        this.ctx = ctx;
        this.k = k;
        this.lin = lin;
        int hidden = cfg.hiddenSize(), queries = cfg.numLearnableQueries();
        if (cfg.encoderHiddenSize() != hidden) {
            throw new Owl2jException("abstractor encoder_hidden_size " + cfg.encoderHiddenSize() + " must equal its hidden_size " + hidden);
        }
        this.queryEmbeds = w.vector(AbstractorNames.QUERY_EMBEDS);
        // the position tables are buffers the release does not store: stored ones when present, else computed once
        Buffer computedQ = null, computedK = null;
        this.layers = new Layer[cfg.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            AbstractorLayerNames n = ExpectedTensors.abstractorLayer(i);
            Buffer qPos, kPos;
            if (w.contains(n.qPosEmbed())) {
                qPos = w.vector(n.qPosEmbed());
            } else {
                if (computedQ == null) computedQ = w.upload(SinCosPositions.queryTable(hidden, queries));
                qPos = computedQ;
            }
            if (w.contains(n.kPosEmbed())) {
                kPos = w.vector(n.kPosEmbed());
            } else {
                if (computedK == null) computedK = w.upload(SinCosPositions.keyTable(hidden, cfg.gridSize()));
                kPos = computedK;
            }
            layers[i] = new Layer(
                    w.vector(n.norm1().weight()), w.vector(n.norm1().bias()),
                    w.vector(n.normk().weight()), w.vector(n.normk().bias()), qPos, kPos,
                    w.matrix(n.query().weight(), null), w.vector(n.query().bias()),
                    w.matrix(n.key().weight(), null), w.vector(n.key().bias()),
                    w.matrix(n.value().weight(), null), w.vector(n.value().bias()),
                    w.matrix(n.outProj().weight(), null), w.vector(n.outProj().bias()),
                    w.vector(n.norm2().weight()), w.vector(n.norm2().bias()),
                    w.matrix(n.w1().weight(), null), w.vector(n.w1().bias()),
                    w.matrix(n.w3().weight(), null), w.vector(n.w3().bias()),
                    w.vector(n.ffnLn().weight()), w.vector(n.ffnLn().bias()),
                    w.matrix(n.w2().weight(), null), w.vector(n.w2().bias()));
        }
        this.visualFc = w.matrix(AbstractorNames.VISUAL_FC.weight(), null);
        this.visualFcBias = w.vector(AbstractorNames.VISUAL_FC.bias());
        this.vitEos = w.vector(AbstractorNames.VIT_EOS);
    }

    /** Visual tokens per image: the queries and vit_eos. */
    int tokens() {
        return cfg.numLearnableQueries() + 1;
    }

    /** Reads the vision tower's states {@code image} [1025, hidden]; writes the 65 visual tokens into {@code out} [65, decoder hidden]. */
    void forward(Buffer image, Buffer out) {
        allocate();
        Launcher run = Launcher.direct(ctx);
        int hidden = cfg.hiddenSize(), nq = cfg.numLearnableQueries(), seq = imageTokens, keys = nq + seq, inter = cfg.intermediateSize();
        float normEps = (float) AbstractorConfig.ATTENTION_NORM_EPS; // norm1, normk, norm2: LayerNorm's default 1e-5
        int heads = cfg.numAttentionHeads(), headDim = cfg.headDim();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        run.launch("queries", k.copy(h, 0, queryEmbeds, 0, nq * hidden));
        for (Layer L : layers) {
            // C = [hn ; Xn] with hn = norm1(h), Xn = normk(X): keys and values cover the normalised queries too
            run.launch("norm_queries", k.layernorm(h, 0, c, 0, L.norm1Weight(), L.norm1Bias(), nq, hidden, normEps));
            run.launch("norm_image", k.layernorm(image, 0, c, nq * hidden, L.normkWeight(), L.normkBias(), seq, hidden, normEps));
            // Q = query(hn + Pq); K = key(C + [Pq ; Pk]); V = value(C): no position term on V
            run.launch("with_positions", k.copy(withPos, 0, c, 0, keys * hidden));
            run.launch("query_positions", k.add(withPos, 0, L.qPosEmbed(), 0, nq * hidden));
            run.launch("key_positions", k.add(withPos, nq * hidden, L.kPosEmbed(), 0, seq * hidden));
            lin.affine(run, "q", L.query(), L.queryBias(), withPos, 0, q, 0, nq);
            lin.affine(run, "k", L.key(), L.keyBias(), withPos, 0, key, 0, keys);
            lin.affine(run, "v", L.value(), L.valueBias(), c, 0, value, 0, keys);
            // unmasked attention, heads split contiguously, scores / √headDim
            run.launch("attention", k.attention(new Layout(q, 0, hidden, headDim), new Layout(key, 0, hidden, headDim),
                    new Layout(value, 0, hidden, headDim), new Layout(attn, 0, hidden, headDim),
                    nq, heads, heads, headDim, scale, false, keys, noParams, 0));
            // the residual starts from the normalised query: h = hn + out_proj(A)
            lin.affine(run, "attn_out", L.outProj(), L.outProjBias(), attn, 0, h, 0, nq);
            run.launch("residual1", k.add(h, 0, c, 0, nq * hidden));
            // ffn_ln sits inside the gated MLP: h += w2(ffn_ln(SiLU(w1·z) ⊙ w3·z)), z = norm2(h)
            run.launch("norm_mlp", k.layernorm(h, 0, tmp, 0, L.norm2Weight(), L.norm2Bias(), nq, hidden, normEps));
            lin.affine(run, "mlp_gate", L.w1(), L.w1Bias(), tmp, 0, gate, 0, nq);
            lin.affine(run, "mlp_up", L.w3(), L.w3Bias(), tmp, 0, up, 0, nq);
            run.launch("silu_mul", k.siluMul(gate, up, nq * inter));
            run.launch("norm_hidden", k.layernorm(gate, 0, gate, 0, L.ffnLnWeight(), L.ffnLnBias(), nq, inter, (float) cfg.layerNormEps()));
            lin.affine(run, "mlp_down", L.w2(), L.w2Bias(), gate, 0, tmp, 0, nq);
            run.launch("residual2", k.add(h, 0, tmp, 0, nq * hidden));
        }
        // no final norm; visual_fc on the 64 queries, then vit_eos appended without it
        lin.affine(run, "project", visualFc, visualFcBias, h, 0, out, 0, nq);
        run.launch("eos", k.copy(out, nq * outHidden, vitEos, 0, outHidden));
    }

    private void allocate() {
        if (h != null) return;
        int hidden = cfg.hiddenSize(), nq = cfg.numLearnableQueries(), keys = nq + imageTokens;
        h = alloc((long) nq * hidden);
        c = alloc((long) keys * hidden);
        withPos = alloc((long) keys * hidden);
        q = alloc((long) nq * hidden);
        key = alloc((long) keys * hidden);
        value = alloc((long) keys * hidden);
        attn = alloc((long) nq * hidden);
        tmp = alloc((long) nq * hidden);
        gate = alloc((long) nq * cfg.intermediateSize());
        up = alloc((long) nq * cfg.intermediateSize());
        noParams = alloc(1);
    }

    private Buffer alloc(long floats) {
        Buffer b = ctx.allocate(Math.max(1, floats) * 4);
        activations.add(b);
        return b;
    }

    void close() {
        for (Buffer b : activations) b.close();
        activations.clear();
    }
}
