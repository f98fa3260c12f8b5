package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.host.Patches;
import dev.owl2j.model.checkpoint.ExpectedTensors.VisionLayerNames;
import dev.owl2j.model.checkpoint.ExpectedTensors.VisionNames;
import dev.owl2j.model.config.Owl2Config.VisionConfig;

/**
 * The ViT-L/14 vision tower (docs/model.md, Vision encoder): a 448×448 image becomes 1025 token states (CLS + 32×32 patches),
 * after post_layernorm. Weight names below are the checkpoint's, under {@code model.vision_model.}.
 */
public final class VisionEncoder {
    private final VisionConfig cfg;
    private final int hidden;
    private final int seq;
    private final int grid;
    private final int patch;
    private final int channels;
    private final int patchDim;

    private final Linear patchEmbed;          // embeddings.patch_embed.weight viewed as [hidden, 3·14·14]
    private final float[] clsToken;           // embeddings.cls_token
    private final float[] positionEmbedding;  // embeddings.position_embedding [1025, hidden]
    private final float[] preLayernormWeight, preLayernormBias;
    private final Block[] blocks;
    private final float[] postLayernormWeight, postLayernormBias;

    /** One pre-norm transformer block, encoder.layers.N. */
    private record Block(float[] inputLayernormWeight, float[] inputLayernormBias,
                         Linear queryKeyValue, float[] queryKeyValueBias,
                         Linear dense, float[] denseBias,
                         float[] postAttentionLayernormWeight, float[] postAttentionLayernormBias,
                         Linear fc1, float[] fc1Bias, Linear fc2, float[] fc2Bias) {}

    VisionEncoder(Weights w, VisionConfig cfg) {
        if (!"quick_gelu".equals(cfg.hiddenAct())) {
            throw new Owl2jException("vision hidden_act " + cfg.hiddenAct() + " is not supported (only quick_gelu, as in the release)");
        }
        if (!cfg.usePostLayernorm()) {
            throw new Owl2jException("use_post_layernorm=false is not supported (the LLaMA-2 release uses it)");
        }
        this.cfg = cfg;
        this.hidden = cfg.hiddenSize();
        this.seq = cfg.seqLen();
        this.grid = cfg.gridSize();
        this.patch = cfg.patchSize();
        this.channels = cfg.numChannels();
        this.patchDim = channels * patch * patch;
        patchEmbed = w.linear(VisionNames.PATCH_EMBED); // [hidden, 3, 14, 14] used as [hidden, 3·14·14]
        clsToken = w.floats(VisionNames.CLS_TOKEN);
        positionEmbedding = w.floats(VisionNames.POSITION_EMBEDDING);
        preLayernormWeight = w.floats(VisionNames.PRE_LAYERNORM.weight());
        preLayernormBias = w.floats(VisionNames.PRE_LAYERNORM.bias());
        blocks = new Block[cfg.numHiddenLayers()];
        for (int i = 0; i < blocks.length; i++) {
            VisionLayerNames n = ExpectedTensors.visionLayer(i);
            blocks[i] = new Block(
                    w.floats(n.inputLayernorm().weight()), w.floats(n.inputLayernorm().bias()),
                    w.linear(n.queryKeyValue().weight()), w.floats(n.queryKeyValue().bias()),
                    w.linear(n.dense().weight()), w.floats(n.dense().bias()),
                    w.floats(n.postAttentionLayernorm().weight()), w.floats(n.postAttentionLayernorm().bias()),
                    w.linear(n.fc1().weight()), w.floats(n.fc1().bias()),
                    w.linear(n.fc2().weight()), w.floats(n.fc2().bias()));
        }
        postLayernormWeight = w.floats(VisionNames.POST_LAYERNORM.weight());
        postLayernormBias = w.floats(VisionNames.POST_LAYERNORM.bias());
    }

    /** Pixel floats the encoder takes: channels × image_size × image_size, channels first. */
    public int pixelCount() {
        return channels * cfg.imageSize() * cfg.imageSize();
    }

    public int sequenceLength() {
        return seq;
    }

    public int hiddenSize() {
        return hidden;
    }

    /**
     * @param pixelValues the CLIP-normalised image, [3, 448, 448] channels first
     * @return the 1025 token states after post_layernorm, [seq, hidden], CLS first
     */
    public float[] forward(float[] pixelValues, Trace trace) {
        if (pixelValues.length != pixelCount()) {
            throw new Owl2jException("pixel values have " + pixelValues.length + " floats, expected "
                    + pixelCount() + " (" + channels + "x" + cfg.imageSize() + "x" + cfg.imageSize() + ")");
        }
        int nPatches = grid * grid;
        float[] x = new float[seq * hidden];

        // The stride-14 conv without bias is a matmul of the [patches, 3·14·14] patch matrix
        // (patches row-major over the grid, each patch flattened channel, row, column like the conv weight).
        float[] patches = Patches.extract(pixelValues, cfg);
        float[] patchStates = new float[nPatches * hidden];
        patchEmbed.matmul(patches, nPatches, patchStates);
        System.arraycopy(patchStates, 0, x, hidden, nPatches * hidden);

        // CLS first, then add all 1025 learned positions.
        System.arraycopy(clsToken, 0, x, 0, hidden);
        Ops.addInPlace(x, positionEmbedding, seq * hidden);

        // pre_layernorm (eps from the config: 1e-6, not CLIP's 1e-5).
        double eps = cfg.layerNormEps();
        Ops.layerNorm(x, seq, hidden, preLayernormWeight, preLayernormBias, eps, x);
        Trace.emit(trace, "vision.embeddings", seq, hidden, x);

        // The pre-norm blocks.
        float[] a = new float[seq * hidden];
        float[] qkv = new float[seq * 3 * hidden];
        float[] attn = new float[seq * hidden];
        float[] mlp = new float[seq * cfg.intermediateSize()];
        int heads = cfg.numAttentionHeads();
        int headDim = cfg.headDim();
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int l = 0; l < blocks.length; l++) {
            Block b = blocks[l];
            // h = x + dense(MHA(input_layernorm(x)))
            Ops.layerNorm(x, seq, hidden, b.inputLayernormWeight(), b.inputLayernormBias(), eps, a);
            b.queryKeyValue().matmul(a, seq, qkv);
            Ops.addBias(qkv, seq, b.queryKeyValueBias());
            // Fused features are per head then q/k/v: head j's q at 3·d·j, k at +d, v at +2d.
            int rowStride = 3 * hidden;
            int headStride = 3 * headDim;
            Attention.attend(
                    new Attention.HeadLayout(qkv, 0, rowStride, headStride), seq,
                    Attention.KvLayout.of(qkv, headDim, rowStride, headStride),
                    Attention.KvLayout.of(qkv, 2 * headDim, rowStride, headStride), seq,
                    heads, heads, headDim, scale, false, 0,
                    new Attention.HeadLayout(attn, 0, hidden, headDim));
            b.dense().matmul(attn, seq, a);
            Ops.addBias(a, seq, b.denseBias());
            Ops.addInPlace(x, a, seq * hidden);

            // x = h + fc2(quick_gelu(fc1(post_attention_layernorm(h))))
            Ops.layerNorm(x, seq, hidden, b.postAttentionLayernormWeight(), b.postAttentionLayernormBias(), eps, a);
            b.fc1().matmul(a, seq, mlp);
            Ops.addBias(mlp, seq, b.fc1Bias());
            Ops.quickGelu(mlp, mlp.length);
            b.fc2().matmul(mlp, seq, a);
            Ops.addBias(a, seq, b.fc2Bias());
            Ops.addInPlace(x, a, seq * hidden);
        }

        // post_layernorm over all 1025 tokens, CLS kept.
        Ops.layerNorm(x, seq, hidden, postLayernormWeight, postLayernormBias, eps, x);
        Trace.emit(trace, "vision.last_hidden_state", seq, hidden, x);
        return x;
    }
}
