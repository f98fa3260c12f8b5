package dev.owl2j.model.config;

import java.nio.file.Path;

/**
 * {@code config.json} of an mPLUG-Owl2 checkpoint (MPLUGOwl2Config layout: LLaMA keys at the top level,
 * {@code visual_config.visual_model} and {@code visual_config.visual_abstractor}). Unknown keys are ignored; absent
 * (or null) keys take the MPLUGOwl2Config defaults (docs/model.md, Configuration); present keys are validated
 * against their type and range before anything is built, so a hostile config is one error of one line, in
 * microseconds (docs/security.md, Configs).
 */
public record Owl2Config(
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        Integer numKeyValueHeadsOrNull,
        double rmsNormEps,
        double ropeTheta,
        int maxPositionEmbeddings,
        int bosTokenId,
        int eosTokenId,
        boolean tieWordEmbeddings,
        String torchDtype,
        VisualConfig visualConfig) {

    /** Most layers of any tower (the release has 32, 24 and 6). */
    public static final int MAX_LAYERS = 1024;
    /** Widest hidden size of any tower (the release's largest is 4096). */
    public static final int MAX_HIDDEN = 65_536;
    /** Widest MLP (the release's largest is 11008). */
    public static final int MAX_INTERMEDIATE = 262_144;
    /** Largest vocabulary (the release has 32000). */
    public static final int MAX_VOCAB = 1 << 20;
    /** Longest context (the release has 2048). */
    public static final int MAX_POSITIONS = 1 << 20;
    /** Largest image side the vision tower may take (the release takes 448). */
    public static final int MAX_IMAGE_SIZE = 4096;
    /** Most patches per side (the release has 32); bounds the abstractor's position tables. */
    public static final int MAX_GRID = 128;

    /** Key/value heads; equals the attention heads when the key is absent (plain multi-head attention). */
    public int numKeyValueHeads() {
        return numKeyValueHeadsOrNull == null || numKeyValueHeadsOrNull == 0 ? numAttentionHeads : numKeyValueHeadsOrNull;
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    public VisionConfig vision() {
        return visualConfig.visualModel();
    }

    public AbstractorConfig abstractor() {
        return visualConfig.visualAbstractor();
    }

    /** Decoder positions one image occupies: the abstractor's queries plus vit_eos (65 for the release). */
    public int tokensPerImage() {
        return abstractor().numLearnableQueries() + 1;
    }

    public static Owl2Config read(Path file) {
        return from(JsonConfig.readFile(file));
    }

    public static Owl2Config parse(String json) {
        return from(JsonConfig.parse(json, "config.json"));
    }

    private static Owl2Config from(JsonConfig j) {
        int vocab = j.integer("vocab_size", 32000, 1, MAX_VOCAB);
        int hidden = j.integer("hidden_size", 4096, 1, MAX_HIDDEN);
        int heads = j.integer("num_attention_heads", 32, 1, hidden);
        Integer kvHeads = j.has("num_key_value_heads") ? j.integer("num_key_value_heads", heads, 1, heads) : null;
        boolean bothIdsAbsent = !j.has("bos_token_id") && !j.has("eos_token_id");
        Owl2Config c = new Owl2Config(
                j.string("model_type", "mplug_owl2"),
                vocab,
                hidden,
                j.integer("intermediate_size", 11008, 1, MAX_INTERMEDIATE),
                j.integer("num_hidden_layers", 32, 1, MAX_LAYERS),
                heads,
                kvHeads,
                j.number("rms_norm_eps", 1e-6, 0, 1),
                j.number("rope_theta", 10000.0, 0, 1e12),
                j.integer("max_position_embeddings", 2048, 1, MAX_POSITIONS),
                bothIdsAbsent ? 1 : j.integer("bos_token_id", 0, 0, vocab - 1),
                bothIdsAbsent ? 2 : j.integer("eos_token_id", 0, 0, vocab - 1),
                j.bool("tie_word_embeddings", false),
                j.string("torch_dtype", null),
                VisualConfig.from(j.object("visual_config")));
        c.validate(j);
        return c;
    }

    private void validate(JsonConfig j) {
        check(j, hiddenSize % numAttentionHeads == 0, "hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        check(j, numAttentionHeads % numKeyValueHeads() == 0, "num_attention_heads " + numAttentionHeads + " is not a multiple of num_key_value_heads " + numKeyValueHeads());
        check(j, headDim() % 2 == 0, "head dim " + headDim() + " must be even for RoPE");
        VisionConfig v = vision();
        check(j, v.imageSize() % v.patchSize() == 0, "image_size " + v.imageSize() + " is not a multiple of patch_size " + v.patchSize());
        check(j, v.gridSize() <= MAX_GRID, "image_size / patch_size = " + v.gridSize() + " patches per side, more than " + MAX_GRID);
        check(j, v.hiddenSize() % v.numAttentionHeads() == 0, "vision hidden_size is not divisible by its heads");
        AbstractorConfig a = abstractor();
        check(j, a.hiddenSize() % a.numAttentionHeads() == 0, "abstractor hidden_size is not divisible by its heads");
        check(j, a.hiddenSize() % 4 == 0, "abstractor hidden_size " + a.hiddenSize() + " must be a multiple of 4 (2-D sin-cos positions)");
        check(j, (1L + (long) a.gridSize() * a.gridSize()) * a.hiddenSize() < Integer.MAX_VALUE
                        && (long) a.numLearnableQueries() * a.hiddenSize() < Integer.MAX_VALUE,
                "abstractor position tables of grid_size " + a.gridSize() + " and hidden_size " + a.hiddenSize() + " are too large");
        check(j, a.encoderHiddenSize() == v.hiddenSize(), "abstractor encoder_hidden_size " + a.encoderHiddenSize() + " differs from vision hidden_size " + v.hiddenSize());
        check(j, a.gridSize() * a.gridSize() == v.numPatches(), "abstractor grid_size " + a.gridSize() + " does not match the " + v.numPatches() + " vision patches");
        check(j, "quick_gelu".equals(v.hiddenAct()) || "gelu".equals(v.hiddenAct()), "unsupported vision hidden_act " + JsonConfig.oneLine(v.hiddenAct()));
        check(j, v.useClsToken() && a.useClsToken(), "only use_cls_token=true (the LLaMA-2 release) is supported");
    }

    private static void check(JsonConfig j, boolean ok, String msg) {
        if (!ok) throw j.fail(msg);
    }

    public record VisualConfig(VisionConfig visualModel, AbstractorConfig visualAbstractor) {
        static VisualConfig from(JsonConfig j) {
            return new VisualConfig(VisionConfig.from(j.object("visual_model")), AbstractorConfig.from(j.object("visual_abstractor")));
        }
    }

    /** ViT-L/14 defaults (docs/model.md, Vision encoder). */
    public record VisionConfig(
            int hiddenSize,
            int intermediateSize,
            int numHiddenLayers,
            int numAttentionHeads,
            int numChannels,
            int imageSize,
            int patchSize,
            String hiddenAct,
            double layerNormEps,
            Boolean useClsTokenOrNull,
            Boolean usePostLayernormOrNull) {
        static VisionConfig from(JsonConfig j) {
            int hidden = j.integer("hidden_size", 1024, 1, MAX_HIDDEN);
            int image = j.integer("image_size", 448, 1, MAX_IMAGE_SIZE);
            return new VisionConfig(hidden,
                    j.integer("intermediate_size", 4096, 1, MAX_INTERMEDIATE),
                    j.integer("num_hidden_layers", 24, 1, MAX_LAYERS),
                    j.integer("num_attention_heads", 16, 1, hidden),
                    j.integer("num_channels", 3, 3, 3),
                    image,
                    j.integer("patch_size", 14, 1, image),
                    j.string("hidden_act", "quick_gelu"),
                    j.number("layer_norm_eps", 1e-6, 0, 1),
                    j.has("use_cls_token") ? j.bool("use_cls_token", true) : null,
                    j.has("use_post_layernorm") ? j.bool("use_post_layernorm", true) : null);
        }
        public boolean useClsToken() {
            return useClsTokenOrNull == null || useClsTokenOrNull;
        }

        public boolean usePostLayernorm() {
            return usePostLayernormOrNull == null || usePostLayernormOrNull;
        }

        public int gridSize() {
            return imageSize / patchSize;
        }

        public int numPatches() {
            return gridSize() * gridSize();
        }

        /** Patches plus the CLS token (1025 for the release). */
        public int seqLen() {
            return numPatches() + (useClsToken() ? 1 : 0);
        }

        public int headDim() {
            return hiddenSize / numAttentionHeads;
        }
    }

    /** Visual abstractor defaults (docs/model.md, Abstractor). norm1/normk/norm2 use eps 1e-5; layer_norm_eps is ffn_ln's. */
    public record AbstractorConfig(
            int hiddenSize,
            int encoderHiddenSize,
            int intermediateSize,
            int numHiddenLayers,
            int numAttentionHeads,
            int numLearnableQueries,
            int gridSize,
            double layerNormEps,
            Boolean useClsTokenOrNull) {
        static AbstractorConfig from(JsonConfig j) {
            int hidden = j.integer("hidden_size", 1024, 1, MAX_HIDDEN);
            return new AbstractorConfig(hidden,
                    j.integer("encoder_hidden_size", 1024, 1, MAX_HIDDEN),
                    j.integer("intermediate_size", 2816, 1, MAX_INTERMEDIATE),
                    j.integer("num_hidden_layers", 6, 1, MAX_LAYERS),
                    j.integer("num_attention_heads", 16, 1, hidden),
                    j.integer("num_learnable_queries", 64, 1, MAX_GRID * MAX_GRID),
                    j.integer("grid_size", 32, 1, MAX_GRID),
                    j.number("layer_norm_eps", 1e-6, 0, 1),
                    j.has("use_cls_token") ? j.bool("use_cls_token", true) : null);
        }

        public boolean useClsToken() {
            return useClsTokenOrNull == null || useClsTokenOrNull;
        }

        public int headDim() {
            return hiddenSize / numAttentionHeads;
        }

        /** eps of norm1, normk and norm2 (nn.LayerNorm's default; docs/model.md, Abstractor). */
        public static final double ATTENTION_NORM_EPS = 1e-5;
    }
}
