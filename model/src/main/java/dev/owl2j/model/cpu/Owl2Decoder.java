package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.tensor.Tensor;

/**
 * The LLaMA-2 decoder with the Modality-Adaptive Module (docs/model.md, Decoder): embed_tokens, the layers, the final
 * RMSNorm model.norm and lm_head. It runs a chunk of already embedded positions on top of a {@link KVCache}.
 */
public final class Owl2Decoder {
    private final Owl2Config cfg;
    private final int hidden;
    private final int vocab;
    private final Tensor embedTokens;    // model.embed_tokens.weight [vocab, hidden], rows widened on lookup
    private final DecoderLayer[] layers; // model.layers.N
    private final float[] norm;          // model.norm.weight
    private final Linear lmHead;         // lm_head.weight [vocab, hidden]
    private final Rope rope;

    Owl2Decoder(Weights w, Owl2Config cfg) {
        this.cfg = cfg;
        this.hidden = cfg.hiddenSize();
        this.vocab = cfg.vocabSize();
        this.embedTokens = w.tensor(ExpectedTensors.EMBED_TOKENS);
        if (embedTokens.dtype().isQuantized()) {
            throw new Owl2jException(ExpectedTensors.EMBED_TOKENS + " must be stored as a float type, not " + embedTokens.dtype());
        }
        this.layers = new DecoderLayer[cfg.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new DecoderLayer(w, cfg, i);
        }
        this.norm = w.floats(ExpectedTensors.NORM);
        this.lmHead = w.linear(ExpectedTensors.LM_HEAD);
        this.rope = new Rope(cfg.headDim(), cfg.ropeTheta());
    }

    public int hiddenSize() {
        return hidden;
    }

    public int vocabSize() {
        return vocab;
    }

    /**
     * An empty cache for this decoder holding at most maxLength positions. Its reserved storage spans the model's
     * whole context whatever maxLength is, so every cache of this decoder can reuse the one a closed cache left
     * (KVCache, Reserved storage).
     */
    public KVCache newCache(int maxLength) {
        return new KVCache(layers.length, cfg.numKeyValueHeads() * cfg.headDim(), maxLength,
                cfg.maxPositionEmbeddings(), KVCache.PROCESS_BUDGET);
    }

    /** Writes the embedding of a text token into out[off .. off+hidden). */
    public void embed(int token, float[] out, int off) {
        if (token < 0 || token >= vocab) {
            throw new Owl2jException("token id " + token + " is outside the vocabulary (0.." + (vocab - 1) + ")");
        }
        long base = (long) token * hidden;
        for (int i = 0; i < hidden; i++) {
            out[off + i] = embedTokens.getFloat(base + i);
        }
    }

    /**
     * Runs n embedded positions (modality 0 text, 1 visual per position) at positions cache.length() ..
     * and appends their keys/values to the cache.
     *
     * @param x the input embeddings [n, hidden]; overwritten with the residual stream
     * @return the logits of the last position [vocab]
     */
    public float[] forward(float[] x, int[] modality, int n, KVCache cache, Trace trace) {
        if (n <= 0) {
            throw new Owl2jException("nothing to run: the input has no positions");
        }
        for (int t = 0; t < n; t++) {
            if (modality[t] != 0 && modality[t] != 1) {
                throw new IllegalArgumentException("modality indicator " + modality[t] + " at position " + t);
            }
        }
        cache.reserve(n);
        rope.ensure(cache.length() + n);
        DecoderLayer.Run[] runs = {new DecoderLayer.Run(cache, 0, n, cache.length())};
        for (int l = 0; l < layers.length; l++) {
            layers[l].forward(x, n, modality, runs, rope);
            Trace.emit(trace, "decoder.layer" + l, n, hidden, x);
        }
        cache.commit(n);

        // Final RMSNorm (shared model.norm) and lm_head; only the last position's logits are needed.
        float[] finalHidden = new float[n * hidden];
        for (int t = 0; t < n; t++) {
            Ops.rmsNormRow(x, t * hidden, hidden, norm, cfg.rmsNormEps(), finalHidden, t * hidden);
        }
        Trace.emit(trace, "final_hidden", n, hidden, finalHidden);
        float[] logits = new float[vocab];
        lmHead.matvec(finalHidden, (n - 1) * hidden, logits, 0);
        Trace.emit(trace, "last_logits", 1, vocab, logits);
        return logits;
    }

    /**
     * One decode step for n sequences at once: tokens[t] (text) is appended to caches[t] at its own next
     * position. The weights are read once for the batch (see {@link DecoderLayer#forward}).
     *
     * @return the next-token logits of every sequence, [n][vocab]
     */
    public float[][] stepBatch(int[] tokens, KVCache[] caches) {
        int n = tokens.length;
        if (n == 0) {
            return new float[0][];
        }
        if (caches.length != n) {
            throw new IllegalArgumentException(n + " tokens for " + caches.length + " caches");
        }
        java.util.Set<KVCache> distinct = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        int maxPos = 0;
        for (KVCache c : caches) {
            if (!distinct.add(c)) {
                throw new IllegalArgumentException("a session appears twice in one batch");
            }
            maxPos = Math.max(maxPos, c.length());
        }
        float[] x = new float[n * hidden];
        for (int t = 0; t < n; t++) {
            embed(tokens[t], x, t * hidden);
        }
        for (KVCache c : caches) {
            c.reserve(1);
        }
        rope.ensure(maxPos + 1);
        // generated tokens are text: modality 0, so every row uses multiway.0
        int[] modality = new int[n];
        DecoderLayer.Run[] runs = new DecoderLayer.Run[n];
        for (int t = 0; t < n; t++) {
            runs[t] = new DecoderLayer.Run(caches[t], t, 1, caches[t].length());
        }
        for (DecoderLayer layer : layers) {
            layer.forward(x, n, modality, runs, rope);
        }
        for (KVCache c : caches) {
            c.commit(1);
        }
        float[] finalHidden = new float[n * hidden];
        for (int t = 0; t < n; t++) {
            Ops.rmsNormRow(x, t * hidden, hidden, norm, cfg.rmsNormEps(), finalHidden, t * hidden);
        }
        float[] all = new float[n * vocab];
        lmHead.matmul(finalHidden, n, all);
        float[][] logits = new float[n][];
        for (int t = 0; t < n; t++) {
            logits[t] = java.util.Arrays.copyOfRange(all, t * vocab, (t + 1) * vocab);
        }
        return logits;
    }
}
