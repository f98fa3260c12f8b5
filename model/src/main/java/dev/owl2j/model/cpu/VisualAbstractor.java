package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.host.SinCosPositions;
import dev.owl2j.model.checkpoint.ExpectedTensors.AbstractorLayerNames;
import dev.owl2j.model.checkpoint.ExpectedTensors.AbstractorNames;
import dev.owl2j.model.config.Owl2Config.AbstractorConfig;

/**
 * The visual abstractor (docs/model.md, Abstractor): 64 learned queries cross-attend, layer by layer, to [themselves ; the 1025
 * vision tokens]; then visual_fc projects them to the decoder width and vit_eos is appended → 65 tokens.
 * Weight names are the checkpoint's, under {@code model.visual_abstractor.}.
 */
public final class VisualAbstractor {
    /** norm1, normk and norm2 are nn.LayerNorm with the default eps 1e-5; only ffn_ln uses layer_norm_eps. */
    private static final double ATTENTION_NORM_EPS = AbstractorConfig.ATTENTION_NORM_EPS;

    private final AbstractorConfig cfg;
    private final int hidden;
    private final int queries;
    private final int imageTokens;
    private final int outHidden;

    private final float[] queryEmbeds;   // query_embeds [64, hidden]
    private final Layer[] layers;
    private final Linear visualFc;       // visual_fc [decoder hidden, hidden]
    private final float[] visualFcBias;
    private final float[] vitEos;        // vit_eos [decoder hidden]

    /** encoder.layers.N.crossattention.* */
    private record Layer(float[] norm1Weight, float[] norm1Bias, float[] normkWeight, float[] normkBias,
                         float[] qPosEmbed, float[] kPosEmbed,
                         Linear query, float[] queryBias, Linear key, float[] keyBias, Linear value, float[] valueBias,
                         Linear outProj, float[] outProjBias,
                         float[] norm2Weight, float[] norm2Bias,
                         Linear w1, float[] w1Bias, Linear w3, float[] w3Bias,
                         float[] ffnLnWeight, float[] ffnLnBias, Linear w2, float[] w2Bias) {}

    VisualAbstractor(Weights w, AbstractorConfig cfg, int imageTokens, int decoderHidden) {
        this.cfg = cfg;
        this.hidden = cfg.hiddenSize();
        this.queries = cfg.numLearnableQueries();
        this.imageTokens = imageTokens;
        this.outHidden = decoderHidden;
        if (cfg.encoderHiddenSize() != hidden) {
            throw new Owl2jException("abstractor encoder_hidden_size " + cfg.encoderHiddenSize()
                    + " must equal its hidden_size " + hidden + " (keys are [queries ; image tokens])");
        }
        queryEmbeds = w.floats(AbstractorNames.QUERY_EMBEDS);
        // The position tables are buffers the release does not store; use stored ones when present.
        float[] computedQ = SinCosPositions.queryTable(hidden, queries);
        float[] computedK = SinCosPositions.keyTable(hidden, cfg.gridSize());
        layers = new Layer[cfg.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            AbstractorLayerNames n = ExpectedTensors.abstractorLayer(i);
            layers[i] = new Layer(
                    w.floats(n.norm1().weight()), w.floats(n.norm1().bias()),
                    w.floats(n.normk().weight()), w.floats(n.normk().bias()),
                    w.contains(n.qPosEmbed()) ? w.floats(n.qPosEmbed()) : computedQ,
                    w.contains(n.kPosEmbed()) ? w.floats(n.kPosEmbed()) : computedK,
                    w.linear(n.query().weight()), w.floats(n.query().bias()),
                    w.linear(n.key().weight()), w.floats(n.key().bias()),
                    w.linear(n.value().weight()), w.floats(n.value().bias()),
                    w.linear(n.outProj().weight()), w.floats(n.outProj().bias()),
                    w.floats(n.norm2().weight()), w.floats(n.norm2().bias()),
                    w.linear(n.w1().weight()), w.floats(n.w1().bias()),
                    w.linear(n.w3().weight()), w.floats(n.w3().bias()),
                    w.floats(n.ffnLn().weight()), w.floats(n.ffnLn().bias()),
                    w.linear(n.w2().weight()), w.floats(n.w2().bias()));
        }
        visualFc = w.linear(AbstractorNames.VISUAL_FC.weight());
        visualFcBias = w.floats(AbstractorNames.VISUAL_FC.bias());
        vitEos = w.floats(AbstractorNames.VIT_EOS);
    }

    /** The position tables layer i uses (stored or computed), for tests: {Pq, Pk}. */
    float[][] positionTables(int layer) {
        return new float[][]{layers[layer].qPosEmbed(), layers[layer].kPosEmbed()};
    }

    /**
     * @param image the vision encoder output X, [1025, hidden]
     * @return the visual tokens handed to the decoder, [65, decoder hidden]
     */
    public float[] forward(float[] image, Trace trace) {
        if (image.length != imageTokens * hidden) {
            throw new IllegalArgumentException("abstractor input has " + image.length + " floats, expected " + imageTokens * hidden);
        }
        int keys = queries + imageTokens; // 1089
        int inter = cfg.intermediateSize();
        int heads = cfg.numAttentionHeads();
        int headDim = cfg.headDim();
        float scale = (float) (1.0 / Math.sqrt(headDim));

        float[] h = queryEmbeds.clone();                  // h₀ = query_embeds
        float[] c = new float[keys * hidden];             // C = [hn ; Xn]
        float[] withPos = new float[keys * hidden];
        float[] q = new float[queries * hidden];
        float[] k = new float[keys * hidden];
        float[] v = new float[keys * hidden];
        float[] attn = new float[queries * hidden];
        float[] tmp = new float[queries * hidden];
        float[] gate = new float[queries * inter];
        float[] up = new float[queries * inter];

        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            // hn = norm1(h), Xn = normk(X), C = [hn ; Xn] (1089 rows).
            Ops.layerNorm(h, queries, hidden, L.norm1Weight(), L.norm1Bias(), ATTENTION_NORM_EPS, c);
            float[] xn = new float[imageTokens * hidden];
            Ops.layerNorm(image, imageTokens, hidden, L.normkWeight(), L.normkBias(), ATTENTION_NORM_EPS, xn);
            System.arraycopy(xn, 0, c, queries * hidden, xn.length);

            // Q = query(hn + Pq); K = key(C + [Pq ; Pk]); V = value(C) (no positions on V).
            System.arraycopy(c, 0, withPos, 0, c.length);
            Ops.addInPlace(withPos, L.qPosEmbed(), queries * hidden);
            L.query().matmul(withPos, queries, q);
            Ops.addBias(q, queries, L.queryBias());
            addAt(withPos, queries * hidden, L.kPosEmbed(), imageTokens * hidden);
            L.key().matmul(withPos, keys, k);
            Ops.addBias(k, keys, L.keyBias());
            L.value().matmul(c, keys, v);
            Ops.addBias(v, keys, L.valueBias());

            // Unmasked attention, heads split contiguously, scores / √headDim.
            Attention.attend(
                    new Attention.HeadLayout(q, 0, hidden, headDim), queries,
                    Attention.KvLayout.of(k, 0, hidden, headDim),
                    Attention.KvLayout.of(v, 0, hidden, headDim), keys,
                    heads, heads, headDim, scale, false, 0,
                    new Attention.HeadLayout(attn, 0, hidden, headDim));

            // The residual starts from the normalised query hn, not from h.
            L.outProj().matmul(attn, queries, h);
            Ops.addBias(h, queries, L.outProjBias());
            Ops.addInPlace(h, c, queries * hidden);

            // ffn_ln sits inside the gated MLP: h += w2(ffn_ln(SiLU(w1·z + b1) ⊙ (w3·z + b3))) + b2, z = norm2(h).
            Ops.layerNorm(h, queries, hidden, L.norm2Weight(), L.norm2Bias(), ATTENTION_NORM_EPS, tmp);
            L.w1().matmul(tmp, queries, gate);
            Ops.addBias(gate, queries, L.w1Bias());
            L.w3().matmul(tmp, queries, up);
            Ops.addBias(up, queries, L.w3Bias());
            Ops.siluMul(gate, up, queries * inter);
            Ops.layerNorm(gate, queries, inter, L.ffnLnWeight(), L.ffnLnBias(), cfg.layerNormEps(), gate);
            L.w2().matmul(gate, queries, tmp);
            Ops.addBias(tmp, queries, L.w2Bias());
            Ops.addInPlace(h, tmp, queries * hidden);
            Trace.emit(trace, "abstractor.layer" + l, queries, hidden, h);
        }

        // No final norm; visual_fc on the 64 queries, then vit_eos appended unprojected.
        float[] out = new float[(queries + 1) * outHidden];
        visualFc.matmul(h, queries, out);
        Ops.addBias(out, queries, visualFcBias);
        System.arraycopy(vitEos, 0, out, queries * outHidden, outHidden);
        Trace.emit(trace, "visual_tokens", queries + 1, outHidden, out);
        return out;
    }

    private static void addAt(float[] y, int yOff, float[] x, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += x[i];
        }
    }
}
