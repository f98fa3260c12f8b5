package dev.owl2j.model.cpu;

import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.checkpoint.ExpectedTensors.DecoderLayerNames;
import dev.owl2j.model.config.Owl2Config;

/**
 * One LLaMA decoder layer with the Modality-Adaptive Module (docs/model.md, Decoder): the two RMSNorms, k_proj and
 * v_proj exist twice ({@code multiway.0} text, {@code multiway.1} visual) and each token uses the way of its
 * modality; q_proj, o_proj and the MLP are shared. Weight names are the checkpoint's under
 * {@code model.layers.N.}.
 */
final class DecoderLayer {
    private static final int WAYS = 2;

    private final int index;
    private final int hidden;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int kvDim;
    private final int inter;
    private final double eps;

    private final float[][] inputLayernorm = new float[WAYS][];          // input_layernorm.multiway.{0,1}.weight
    private final Linear qProj;                                          // self_attn.q_proj.weight (shared)
    private final Linear[] kProj = new Linear[WAYS];                     // self_attn.k_proj.multiway.{0,1}.weight
    private final Linear[] vProj = new Linear[WAYS];                     // self_attn.v_proj.multiway.{0,1}.weight
    private final Linear oProj;                                          // self_attn.o_proj.weight
    private final float[][] postAttentionLayernorm = new float[WAYS][];  // post_attention_layernorm.multiway.{0,1}.weight
    private final Linear gateProj, upProj, downProj;                     // mlp.*

    DecoderLayer(Weights w, Owl2Config cfg, int index) {
        this.index = index;
        this.hidden = cfg.hiddenSize();
        this.heads = cfg.numAttentionHeads();
        this.kvHeads = cfg.numKeyValueHeads();
        this.headDim = cfg.headDim();
        this.kvDim = kvHeads * headDim;
        this.inter = cfg.intermediateSize();
        this.eps = cfg.rmsNormEps();
        DecoderLayerNames n = ExpectedTensors.decoderLayer(index);
        for (int m = 0; m < WAYS; m++) {
            inputLayernorm[m] = w.floats(n.inputLayernorm(m));
            kProj[m] = w.linear(n.kProj(m));
            vProj[m] = w.linear(n.vProj(m));
            postAttentionLayernorm[m] = w.floats(n.postAttentionLayernorm(m));
        }
        qProj = w.linear(n.qProj());
        oProj = w.linear(n.oProj());
        gateProj = w.linear(n.gateProj());
        upProj = w.linear(n.upProj());
        downProj = w.linear(n.downProj());
    }

    /**
     * Rows of the residual stream that continue one sequence: {@code rows} consecutive rows from {@code row0},
     * at positions {@code pos0} .. {@code pos0 + rows − 1} of {@code cache}.
     */
    record Run(KVCache cache, int row0, int rows, int pos0) {}

    /** Rows per parallel chunk of the norms and RoPE: a decode step's one row stays on the calling thread. */
    private static final int NORM_ROWS = 8;

    /**
     * Advances the residual stream x [n, hidden] through this layer, writing the keys and values of every run's
     * rows into its cache (which must have room reserved). A prefill chunk is one run of n rows; a batched
     * decode step is n runs of one text row each, over n caches. The projections and the MLP run as one matmul
     * over all n rows, so the weights are read once for the whole batch; attention runs per run over its own
     * cache. This is the layer's only body: prefill, single steps and batched steps all come through here.
     */
    void forward(float[] x, int n, int[] modality, Run[] runs, Rope rope) {
        int qDim = heads * headDim;
        float[] a = new float[n * hidden];
        float[] q = new float[n * qDim];
        float[] k = new float[n * kvDim];
        float[] v = new float[n * kvDim];

        // a = RMSNorm_in[m](x), per token with its own modality's weight.
        normRows(x, n, modality, inputLayernorm, a);
        // q = Wq·a (shared); k = Wk[m]·a, v = Wv[m]·a (the MAM's four per-modality parts). When every row has one
        // modality (decode steps, a text-only or image-only chunk) the three read a as one group.
        int m = sameModality(modality, n);
        if (m >= 0) {
            Linear.matmulAll(new Linear[]{qProj, kProj[m], vProj[m]}, a, n, new float[][]{q, k, v});
        } else {
            qProj.matmul(a, n, q);
            multiway(kProj, a, n, modality, hidden, k, kvDim);
            multiway(vProj, a, n, modality, hidden, v, kvDim);
        }

        float[] attn = a; // a is no longer needed
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (Run r : runs) {
            // Rotate-half RoPE (docs/model.md, RoPE) on q and k at their absolute positions, before k is cached.
            Parallel.forRange(r.rows(), NORM_ROWS, (i0, i1) -> {
                for (int t = r.row0() + i0; t < r.row0() + i1; t++) {
                    int pos = r.pos0() + t - r.row0();
                    for (int h = 0; h < heads; h++) {
                        rope.rotate(q, (t * heads + h) * headDim, pos);
                    }
                    for (int h = 0; h < kvHeads; h++) {
                        rope.rotate(k, (t * kvHeads + h) * headDim, pos);
                    }
                }
            });
            r.cache().write(index, k, v, r.row0(), r.pos0(), r.rows());
            // Causal attention over every cached position ≤ t, both modalities, scores / √headDim;
            // with fewer kv heads each kv head serves heads/kvHeads query heads (grouped-query attention).
            Attention.attend(
                    new Attention.HeadLayout(q, r.row0() * qDim, qDim, headDim), r.rows(),
                    new Attention.KvLayout(r.cache().keys(index), 0, kvDim, headDim),
                    new Attention.KvLayout(r.cache().values(index), 0, kvDim, headDim), r.pos0() + r.rows(),
                    heads, kvHeads, headDim, scale, true, r.pos0(),
                    new Attention.HeadLayout(attn, r.row0() * qDim, qDim, headDim));
        }
        // x = x + Wo·attn
        float[] out = new float[n * hidden];
        oProj.matmul(attn, n, out);
        Ops.addInPlace(x, out, n * hidden);

        // b = RMSNorm_post[m](x); x = x + Wdown·(SiLU(Wgate·b) ⊙ Wup·b)
        float[] b = out;
        normRows(x, n, modality, postAttentionLayernorm, b);
        float[] gate = new float[n * inter];
        float[] up = new float[n * inter];
        Linear.matmulAll(new Linear[]{gateProj, upProj}, b, n, new float[][]{gate, up});
        Ops.siluMul(gate, up, n * inter);
        downProj.matmul(gate, n, b);
        Ops.addInPlace(x, b, n * hidden);
    }

    /**
     * out[t] = RMSNorm(x[t]) with weight[modality[t]] for each of the n rows, rows in parallel (a prefill's 127 rows
     * of 4096 took about 1 ms per layer on one thread).
     */
    private void normRows(float[] x, int n, int[] modality, float[][] weight, float[] out) {
        Parallel.forRange(n, NORM_ROWS, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                Ops.rmsNormRow(x, t * hidden, hidden, weight[modality[t]], eps, out, t * hidden);
            }
        });
    }

    /** The modality of all n rows, or −1 when they differ. */
    private static int sameModality(int[] modality, int n) {
        for (int t = 1; t < n; t++) {
            if (modality[t] != modality[0]) {
                return -1;
            }
        }
        return modality[0];
    }

    /**
     * y[t] = ways[modality[t]]·x[t]. Rows are grouped by modality so each way runs one batched matmul
     * (a prefill chunk is usually one text run, one image, another text run).
     */
    private static void multiway(Linear[] ways, float[] x, int n, int[] modality, int inDim, float[] y, int outDim) {
        for (int m = 0; m < ways.length; m++) {
            int count = 0;
            for (int t = 0; t < n; t++) {
                if (modality[t] == m) count++;
            }
            if (count == 0) {
                continue;
            }
            if (count == n) {
                ways[m].matmul(x, n, y);
                return;
            }
            float[] in = new float[count * inDim];
            int[] rows = new int[count];
            for (int t = 0, j = 0; t < n; t++) {
                if (modality[t] == m) {
                    rows[j] = t;
                    System.arraycopy(x, t * inDim, in, j * inDim, inDim);
                    j++;
                }
            }
            float[] res = new float[count * outDim];
            ways[m].matmul(in, count, res);
            for (int j = 0; j < count; j++) {
                System.arraycopy(res, j * outDim, y, rows[j] * outDim, outDim);
            }
        }
    }
}
