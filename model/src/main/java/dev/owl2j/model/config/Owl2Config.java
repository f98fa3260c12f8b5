package dev.owl2j.model.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code config.json} of an mPLUG-Owl2 checkpoint (MPLUGOwl2Config layout: LLaMA keys at the top level,
 * {@code visual_config.visual_model} and {@code visual_config.visual_abstractor}). Unknown keys are ignored;
 * missing keys take the MPLUGOwl2Config defaults (the release values in docs/model.md).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Owl2Config(
        @JsonProperty("model_type") String modelType,
        @JsonProperty("vocab_size") int vocabSize,
        @JsonProperty("hidden_size") int hiddenSize,
        @JsonProperty("intermediate_size") int intermediateSize,
        @JsonProperty("num_hidden_layers") int numHiddenLayers,
        @JsonProperty("num_attention_heads") int numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeadsOrNull,
        @JsonProperty("rms_norm_eps") double rmsNormEps,
        @JsonProperty("rope_theta") double ropeTheta,
        @JsonProperty("max_position_embeddings") int maxPositionEmbeddings,
        @JsonProperty("bos_token_id") int bosTokenId,
        @JsonProperty("eos_token_id") int eosTokenId,
        @JsonProperty("tie_word_embeddings") boolean tieWordEmbeddings,
        @JsonProperty("torch_dtype") String torchDtype,
        @JsonProperty("visual_config") VisualConfig visualConfig) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, false);

    public Owl2Config {
        if (modelType == null) modelType = "mplug_owl2";
        if (vocabSize == 0) vocabSize = 32000;
        if (hiddenSize == 0) hiddenSize = 4096;
        if (intermediateSize == 0) intermediateSize = 11008;
        if (numHiddenLayers == 0) numHiddenLayers = 32;
        if (numAttentionHeads == 0) numAttentionHeads = 32;
        if (rmsNormEps == 0) rmsNormEps = 1e-6;
        if (ropeTheta == 0) ropeTheta = 10000.0;
        if (maxPositionEmbeddings == 0) maxPositionEmbeddings = 2048;
        if (bosTokenId == 0 && eosTokenId == 0) {
            bosTokenId = 1;
            eosTokenId = 2;
        }
        if (visualConfig == null) visualConfig = new VisualConfig(null, null);
    }

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
        if (!Files.isRegularFile(file)) {
            throw new Owl2jException("config.json not found: " + file);
        }
        try {
            Owl2Config c = JSON.readValue(file.toFile(), Owl2Config.class);
            c.validate(file.toString());
            return c;
        } catch (IOException e) {
            throw new Owl2jException(file + ": cannot parse config.json: " + firstLine(e.getMessage()));
        }
    }

    public static Owl2Config parse(String json) {
        try {
            Owl2Config c = JSON.readValue(json, Owl2Config.class);
            c.validate("config.json");
            return c;
        } catch (IOException e) {
            throw new Owl2jException("cannot parse config.json: " + firstLine(e.getMessage()));
        }
    }

    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void validate(String where) {
        check(where, hiddenSize % numAttentionHeads == 0, "hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        check(where, numAttentionHeads % numKeyValueHeads() == 0, "num_attention_heads " + numAttentionHeads + " is not a multiple of num_key_value_heads " + numKeyValueHeads());
        check(where, headDim() % 2 == 0, "head dim " + headDim() + " must be even for RoPE");
        VisionConfig v = vision();
        check(where, v.imageSize() % v.patchSize() == 0, "image_size " + v.imageSize() + " is not a multiple of patch_size " + v.patchSize());
        check(where, v.hiddenSize() % v.numAttentionHeads() == 0, "vision hidden_size is not divisible by its heads");
        AbstractorConfig a = abstractor();
        check(where, a.hiddenSize() % a.numAttentionHeads() == 0, "abstractor hidden_size is not divisible by its heads");
        check(where, a.encoderHiddenSize() == v.hiddenSize(), "abstractor encoder_hidden_size " + a.encoderHiddenSize() + " differs from vision hidden_size " + v.hiddenSize());
        check(where, a.gridSize() * a.gridSize() == v.numPatches(), "abstractor grid_size " + a.gridSize() + " does not match the " + v.numPatches() + " vision patches");
        check(where, "quick_gelu".equals(v.hiddenAct()) || "gelu".equals(v.hiddenAct()), "unsupported vision hidden_act " + v.hiddenAct());
        check(where, v.useClsToken() && a.useClsToken(), "only use_cls_token=true (the LLaMA-2 release) is supported");
    }

    private static void check(String where, boolean ok, String msg) {
        if (!ok) throw new Owl2jException(where + ": " + msg);
    }

    private static String firstLine(String s) {
        if (s == null) return "unknown error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    public record VisualConfig(
            @JsonProperty("visual_model") VisionConfig visualModel,
            @JsonProperty("visual_abstractor") AbstractorConfig visualAbstractor) {
        public VisualConfig {
            if (visualModel == null) visualModel = new VisionConfig(0, 0, 0, 0, 0, 0, 0, null, 0, null, null);
            if (visualAbstractor == null) visualAbstractor = new AbstractorConfig(0, 0, 0, 0, 0, 0, 0, 0, null);
        }
    }

    /** ViT-L/14 defaults (docs/model.md, Vision encoder). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record VisionConfig(
            @JsonProperty("hidden_size") int hiddenSize,
            @JsonProperty("intermediate_size") int intermediateSize,
            @JsonProperty("num_hidden_layers") int numHiddenLayers,
            @JsonProperty("num_attention_heads") int numAttentionHeads,
            @JsonProperty("num_channels") int numChannels,
            @JsonProperty("image_size") int imageSize,
            @JsonProperty("patch_size") int patchSize,
            @JsonProperty("hidden_act") String hiddenAct,
            @JsonProperty("layer_norm_eps") double layerNormEps,
            @JsonProperty("use_cls_token") Boolean useClsTokenOrNull,
            @JsonProperty("use_post_layernorm") Boolean usePostLayernormOrNull) {
        public VisionConfig {
            if (hiddenSize == 0) hiddenSize = 1024;
            if (intermediateSize == 0) intermediateSize = 4096;
            if (numHiddenLayers == 0) numHiddenLayers = 24;
            if (numAttentionHeads == 0) numAttentionHeads = 16;
            if (numChannels == 0) numChannels = 3;
            if (imageSize == 0) imageSize = 448;
            if (patchSize == 0) patchSize = 14;
            if (hiddenAct == null) hiddenAct = "quick_gelu";
            if (layerNormEps == 0) layerNormEps = 1e-6;
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
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record AbstractorConfig(
            @JsonProperty("hidden_size") int hiddenSize,
            @JsonProperty("encoder_hidden_size") int encoderHiddenSize,
            @JsonProperty("intermediate_size") int intermediateSize,
            @JsonProperty("num_hidden_layers") int numHiddenLayers,
            @JsonProperty("num_attention_heads") int numAttentionHeads,
            @JsonProperty("num_learnable_queries") int numLearnableQueries,
            @JsonProperty("grid_size") int gridSize,
            @JsonProperty("layer_norm_eps") double layerNormEps,
            @JsonProperty("use_cls_token") Boolean useClsTokenOrNull) {
        public AbstractorConfig {
            if (hiddenSize == 0) hiddenSize = 1024;
            if (encoderHiddenSize == 0) encoderHiddenSize = 1024;
            if (intermediateSize == 0) intermediateSize = 2816;
            if (numHiddenLayers == 0) numHiddenLayers = 6;
            if (numAttentionHeads == 0) numAttentionHeads = 16;
            if (numLearnableQueries == 0) numLearnableQueries = 64;
            if (gridSize == 0) gridSize = 32;
            if (layerNormEps == 0) layerNormEps = 1e-6;
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
