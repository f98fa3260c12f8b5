package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.kernels.Kernels.Layout;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.checkpoint.ExpectedTensors.VisionLayerNames;
import dev.owl2j.model.checkpoint.ExpectedTensors.VisionNames;
import dev.owl2j.model.config.Owl2Config.VisionConfig;
import dev.owl2j.model.host.Patches;
import dev.owl2j.runtime.engine.device.DeviceWeights.Mat;

import java.util.ArrayList;
import java.util.List;

/**
 * The ViT-L/14 vision tower on the device (docs/model.md, Vision encoder): a 448×448 image becomes 1025 token
 * states (CLS + 32×32 patches) after post_layernorm, left in {@link #output()} for the abstractor. Fields are
 * named after the checkpoint's tensors under {@code model.vision_model.}.
 */
final class VisionEncoder {
    /** One pre-norm transformer block, encoder.layers.N. */
    private record Block(Buffer inputLayernormWeight, Buffer inputLayernormBias, Mat queryKeyValue, Buffer queryKeyValueBias,
                         Mat dense, Buffer denseBias, Buffer postAttentionLayernormWeight, Buffer postAttentionLayernormBias,
                         Mat fc1, Buffer fc1Bias, Mat fc2, Buffer fc2Bias) {}

    private final VisionConfig cfg;
    private final ComputeContext ctx;
    private final Kernels k;
    private final LinearKernels lin;

    private final Mat patchEmbed;                 // embeddings.patch_embed.weight viewed as [hidden, 3·14·14]
    private final Buffer clsToken;                // embeddings.cls_token
    private final Buffer positionEmbedding;       // embeddings.position_embedding [1025, hidden]
    private final Buffer preLayernormWeight, preLayernormBias;
    private final Block[] blocks;
    private final Buffer postLayernormWeight, postLayernormBias;

    /** Activations, allocated on the first image: patches, the residual stream, normed input, qkv, attention, MLP. */
    private final List<Buffer> activations = new ArrayList<>();
    private Buffer patches, x, a, qkv, attn, mlp, noParams;

    VisionEncoder(DeviceWeights w, VisionConfig cfg, ComputeContext ctx, Kernels k, LinearKernels lin) {
        if (!"quick_gelu".equals(cfg.hiddenAct())) {
            throw new Owl2jException("vision hidden_act " + cfg.hiddenAct() + " is not supported (only quick_gelu, as in the release)");
        }
        this.cfg = cfg;
        this.ctx = ctx;
        this.k = k;
        this.lin = lin;
        this.patchEmbed = w.matrix(VisionNames.PATCH_EMBED, null);
        this.clsToken = w.vector(VisionNames.CLS_TOKEN);
        this.positionEmbedding = w.vector(VisionNames.POSITION_EMBEDDING);
        this.preLayernormWeight = w.vector(VisionNames.PRE_LAYERNORM.weight());
        this.preLayernormBias = w.vector(VisionNames.PRE_LAYERNORM.bias());
        this.blocks = new Block[cfg.numHiddenLayers()];
        for (int i = 0; i < blocks.length; i++) {
            VisionLayerNames n = ExpectedTensors.visionLayer(i);
            blocks[i] = new Block(w.vector(n.inputLayernorm().weight()), w.vector(n.inputLayernorm().bias()),
                    w.matrix(n.queryKeyValue().weight(), null), w.vector(n.queryKeyValue().bias()),
                    w.matrix(n.dense().weight(), null), w.vector(n.dense().bias()),
                    w.vector(n.postAttentionLayernorm().weight()), w.vector(n.postAttentionLayernorm().bias()),
                    w.matrix(n.fc1().weight(), null), w.vector(n.fc1().bias()),
                    w.matrix(n.fc2().weight(), null), w.vector(n.fc2().bias()));
        }
        this.postLayernormWeight = w.vector(VisionNames.POST_LAYERNORM.weight());
        this.postLayernormBias = w.vector(VisionNames.POST_LAYERNORM.bias());
    }

    /** Floats of one image: channels × image_size × image_size, channels first. */
    int pixelCount() {
        return cfg.numChannels() * cfg.imageSize() * cfg.imageSize();
    }

    /** The 1025 token states of the last {@link #forward}, [seq, hidden]. */
    Buffer output() {
        return x;
    }

    /** Runs the tower on one image's CLIP-normalised pixels ([3, 448, 448], channels first). */
    void forward(float[] pixelValues) {
        if (pixelValues.length != pixelCount()) {
            throw new Owl2jException("pixel values have " + pixelValues.length + " floats, expected " + pixelCount()
                    + " (" + cfg.numChannels() + "x" + cfg.imageSize() + "x" + cfg.imageSize() + ")");
        }
        allocate();
        patches.write(Patches.extract(pixelValues, cfg), 0);
        Launcher run = Launcher.direct(ctx);
        int hidden = cfg.hiddenSize(), seq = cfg.seqLen(), nPatches = cfg.gridSize() * cfg.gridSize();
        float eps = (float) cfg.layerNormEps();
        int heads = cfg.numAttentionHeads(), headDim = cfg.headDim();
        // the stride-14 conv as a matmul into rows 1.., CLS into row 0, then all 1025 learned positions added
        run.launch("patch_matmul", lin.mm(patchEmbed, patches, 0, patchEmbed.cols(), x, hidden, hidden, nPatches));
        run.launch("cls", k.copy(x, 0, clsToken, 0, hidden));
        run.launch("positions", k.add(x, 0, positionEmbedding, 0, seq * hidden));
        // pre_layernorm (eps from the config: 1e-6, not CLIP's 1e-5)
        run.launch("pre_norm", k.layernorm(x, 0, x, 0, preLayernormWeight, preLayernormBias, seq, hidden, eps));
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (Block b : blocks) {
            run.launch("input_norm", k.layernorm(x, 0, a, 0, b.inputLayernormWeight(), b.inputLayernormBias(), seq, hidden, eps));
            lin.affine(run, "qkv", b.queryKeyValue(), b.queryKeyValueBias(), a, 0, qkv, 0, seq);
            // the fused features are per head, then q/k/v: head j's q at 3·d·j, k at +d, v at +2d; no mask
            int row = 3 * hidden, hs = 3 * headDim;
            run.launch("attention", k.attention(new Layout(qkv, 0, row, hs), new Layout(qkv, headDim, row, hs),
                    new Layout(qkv, 2 * headDim, row, hs), new Layout(attn, 0, hidden, headDim),
                    seq, heads, heads, headDim, scale, false, seq, noParams, 0));
            lin.affine(run, "attn_out", b.dense(), b.denseBias(), attn, 0, a, 0, seq);
            run.launch("residual1", k.add(x, 0, a, 0, seq * hidden));
            run.launch("post_norm",
                    k.layernorm(x, 0, a, 0, b.postAttentionLayernormWeight(), b.postAttentionLayernormBias(), seq, hidden, eps));
            lin.affine(run, "mlp_up", b.fc1(), b.fc1Bias(), a, 0, mlp, 0, seq);
            run.launch("quick_gelu", k.quickGelu(mlp, seq * cfg.intermediateSize()));
            lin.affine(run, "mlp_down", b.fc2(), b.fc2Bias(), mlp, 0, a, 0, seq);
            run.launch("residual2", k.add(x, 0, a, 0, seq * hidden));
        }
        // post_layernorm over all 1025 positions, CLS kept
        run.launch("final_norm", k.layernorm(x, 0, x, 0, postLayernormWeight, postLayernormBias, seq, hidden, eps));
    }

    private void allocate() {
        if (x != null) return;
        int hidden = cfg.hiddenSize(), seq = cfg.seqLen(), grid = cfg.gridSize();
        int patchDim = cfg.numChannels() * cfg.patchSize() * cfg.patchSize();
        patches = alloc((long) grid * grid * patchDim);
        x = alloc((long) seq * hidden);
        a = alloc((long) seq * hidden);
        qkv = alloc((long) seq * 3 * hidden);
        attn = alloc((long) seq * hidden);
        mlp = alloc((long) seq * cfg.intermediateSize());
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
