package dev.owl2j.model.checkpoint;

import dev.owl2j.model.config.Owl2Config;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Every tensor an mPLUG-Owl2 checkpoint holds, by name and shape, derived from its config (docs/model.md,
 * Checkpoint). The release's names are the state_dict of MPLUGOwl2LlamaForCausalLM as written by the converter.
 *
 * <p>This is the one place where checkpoint names are spelled out: the engines, {@code convert}, the synthetic
 * weights of the benchmarks and the tests look names up through the typed helpers below
 * ({@link #decoderLayer}, {@link #visionLayer}, {@link #abstractorLayer}, the constants) and shapes through
 * {@link #forConfig}.
 */
public final class ExpectedTensors {
    public enum Component { VISION, ABSTRACTOR, DECODER }

    public enum Presence {
        /** Must be stored. */
        REQUIRED,
        /** Stored by some exports, ignored when absent (rotary_emb.inv_freq; lm_head with tied embeddings). */
        OPTIONAL,
        /** Deterministic buffers the release does not store; computed at load time when absent (docs/model.md, Abstractor). */
        COMPUTED_IF_MISSING
    }

    /** How the engines use a tensor. */
    public enum Kind {
        /** Norm weights, biases, learned positions and tokens, computed tables: widened to float. */
        VECTOR,
        /** A weight matrix [rows, cols] (or stored with more dimensions, flattened after the first), kept as stored. */
        MATRIX,
        /** A decoder layer's projection: a matrix that the quantized modes convert to Q8_0/Q4_0. */
        DECODER_PROJECTION
    }

    public record Expected(String name, long[] shape, Component component, Presence presence, Kind kind) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public String shapeString() {
            return Arrays.toString(shape);
        }

        /** Rows of the matrix this tensor is used as (its first dimension). */
        public int rows() {
            return Math.toIntExact(shape[0]);
        }

        /** Columns of the matrix this tensor is used as (the product of the other dimensions). */
        public int cols() {
            return Math.toIntExact(numel() / shape[0]);
        }

        /** A matrix in any form (plain or decoder projection). */
        public boolean matrix() {
            return kind != Kind.VECTOR;
        }
    }

    // ---- names ------------------------------------------------------------------------------------------

    public static final String EMBED_TOKENS = "model.embed_tokens.weight";
    /** The decoder's final RMSNorm. */
    public static final String NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private static final String VISION = "model.vision_model.";
    private static final String ABSTRACTOR = "model.visual_abstractor.";
    private static final Pattern DECODER_PROJECTION = Pattern.compile("model\\.layers\\.\\d+\\.(self_attn|mlp)\\..*proj.*");

    /** A weight and its bias, named {@code base.weight} and {@code base.bias}. */
    public record Affine(String base) {
        public String weight() {
            return base + ".weight";
        }

        public String bias() {
            return base + ".bias";
        }
    }

    /** Names of decoder layer N ({@code model.layers.N.}); {@code way} is the MAM's 0 (text) or 1 (visual). */
    public record DecoderLayerNames(int index) {
        private String p() {
            return "model.layers." + index + ".";
        }

        public String inputLayernorm(int way) {
            return p() + "input_layernorm.multiway." + way + ".weight";
        }

        public String qProj() {
            return p() + "self_attn.q_proj.weight";
        }

        public String kProj(int way) {
            return p() + "self_attn.k_proj.multiway." + way + ".weight";
        }

        public String vProj(int way) {
            return p() + "self_attn.v_proj.multiway." + way + ".weight";
        }

        public String oProj() {
            return p() + "self_attn.o_proj.weight";
        }

        public String postAttentionLayernorm(int way) {
            return p() + "post_attention_layernorm.multiway." + way + ".weight";
        }

        public String gateProj() {
            return p() + "mlp.gate_proj.weight";
        }

        public String upProj() {
            return p() + "mlp.up_proj.weight";
        }

        public String downProj() {
            return p() + "mlp.down_proj.weight";
        }

        public String rotaryInvFreq() {
            return p() + "self_attn.rotary_emb.inv_freq";
        }
    }

    /** Names of the vision tower outside its layers ({@code model.vision_model.}). */
    public static final class VisionNames {
        public static final String CLS_TOKEN = VISION + "embeddings.cls_token";
        public static final String PATCH_EMBED = VISION + "embeddings.patch_embed.weight";
        public static final String POSITION_EMBEDDING = VISION + "embeddings.position_embedding";
        public static final Affine PRE_LAYERNORM = new Affine(VISION + "embeddings.pre_layernorm");
        public static final Affine POST_LAYERNORM = new Affine(VISION + "post_layernorm");

        private VisionNames() {}
    }

    /** Names of vision layer N ({@code model.vision_model.encoder.layers.N.}). */
    public record VisionLayerNames(int index) {
        private Affine a(String s) {
            return new Affine(VISION + "encoder.layers." + index + "." + s);
        }

        public Affine inputLayernorm() {
            return a("input_layernorm");
        }

        /** The fused projection, output features per head then q/k/v (docs/model.md, Vision encoder). */
        public Affine queryKeyValue() {
            return a("self_attn.query_key_value");
        }

        public Affine dense() {
            return a("self_attn.dense");
        }

        public Affine postAttentionLayernorm() {
            return a("post_attention_layernorm");
        }

        public Affine fc1() {
            return a("mlp.fc1");
        }

        public Affine fc2() {
            return a("mlp.fc2");
        }
    }

    /** Names of the abstractor outside its layers ({@code model.visual_abstractor.}). */
    public static final class AbstractorNames {
        public static final String QUERY_EMBEDS = ABSTRACTOR + "query_embeds";
        public static final Affine VISUAL_FC = new Affine(ABSTRACTOR + "visual_fc");
        public static final String VIT_EOS = ABSTRACTOR + "vit_eos";

        private AbstractorNames() {}
    }

    /** Names of abstractor layer N ({@code model.visual_abstractor.encoder.layers.N.crossattention.}). */
    public record AbstractorLayerNames(int index) {
        private String p() {
            return ABSTRACTOR + "encoder.layers." + index + ".crossattention.";
        }

        private Affine a(String s) {
            return new Affine(p() + s);
        }

        public Affine norm1() {
            return a("norm1");
        }

        public Affine normk() {
            return a("normk");
        }

        public Affine query() {
            return a("attention.query");
        }

        public Affine key() {
            return a("attention.key");
        }

        public Affine value() {
            return a("attention.value");
        }

        /** The query position table (computed when absent). */
        public String qPosEmbed() {
            return p() + "attention.q_pos_embed";
        }

        /** The key position table (computed when absent). */
        public String kPosEmbed() {
            return p() + "attention.k_pos_embed";
        }

        public Affine outProj() {
            return a("output.out_proj");
        }

        public Affine norm2() {
            return a("output.norm2");
        }

        public Affine w1() {
            return a("output.mlp.w1");
        }

        public Affine w3() {
            return a("output.mlp.w3");
        }

        public Affine ffnLn() {
            return a("output.mlp.ffn_ln");
        }

        public Affine w2() {
            return a("output.mlp.w2");
        }
    }

    public static DecoderLayerNames decoderLayer(int index) {
        return new DecoderLayerNames(index);
    }

    public static VisionLayerNames visionLayer(int index) {
        return new VisionLayerNames(index);
    }

    public static AbstractorLayerNames abstractorLayer(int index) {
        return new AbstractorLayerNames(index);
    }

    /** True for the decoder linear weights that quantized modes convert ({@code model.layers.N.(self_attn|mlp).*proj*}). */
    public static boolean isDecoderProjection(String name) {
        return DECODER_PROJECTION.matcher(name).matches();
    }

    /** True for the position and rotary buffers, kept in float32 whatever a conversion's target dtype. */
    public static boolean isBuffer(String name) {
        return name.endsWith("rotary_emb.inv_freq") || name.endsWith("q_pos_embed") || name.endsWith("k_pos_embed");
    }

    /** The component a tensor name belongs to by its prefix (also for names the config does not expect). */
    public static Component componentOf(String name) {
        if (name.startsWith(VISION)) return Component.VISION;
        if (name.startsWith(ABSTRACTOR)) return Component.ABSTRACTOR;
        return Component.DECODER;
    }

    // ---- shapes -----------------------------------------------------------------------------------------

    private final Map<String, Expected> byName;

    private ExpectedTensors(Map<String, Expected> byName) {
        this.byName = byName;
    }

    public static ExpectedTensors forConfig(Owl2Config c) {
        Map<String, Expected> m = new LinkedHashMap<>();
        Builder b = new Builder(m);

        // decoder (docs/model.md, Decoder): shared q/o/MLP, per-modality (multiway 0 = text, 1 = visual) k/v and RMSNorms
        int h = c.hiddenSize(), q = c.numAttentionHeads() * c.headDim(), kv = c.numKeyValueHeads() * c.headDim();
        int ff = c.intermediateSize();
        b.component = Component.DECODER;
        b.matrix(EMBED_TOKENS, c.vocabSize(), h);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            DecoderLayerNames n = decoderLayer(l);
            b.projection(n.qProj(), q, h);
            for (int w = 0; w < 2; w++) {
                b.projection(n.kProj(w), kv, h);
                b.projection(n.vProj(w), kv, h);
            }
            b.projection(n.oProj(), h, q);
            b.projection(n.gateProj(), ff, h);
            b.projection(n.upProj(), ff, h);
            b.projection(n.downProj(), h, ff);
            for (int w = 0; w < 2; w++) {
                b.vector(n.inputLayernorm(w), h);
                b.vector(n.postAttentionLayernorm(w), h);
            }
            b.add(n.rotaryInvFreq(), Presence.OPTIONAL, Kind.VECTOR, c.headDim() / 2);
        }
        b.vector(NORM, h);
        b.add(LM_HEAD, c.tieWordEmbeddings() ? Presence.OPTIONAL : Presence.REQUIRED, Kind.MATRIX, c.vocabSize(), h);

        // vision encoder (docs/model.md, Vision encoder)
        Owl2Config.VisionConfig v = c.vision();
        int hv = v.hiddenSize(), fv = v.intermediateSize();
        b.component = Component.VISION;
        b.vector(VisionNames.CLS_TOKEN, 1, 1, hv);
        b.matrix(VisionNames.PATCH_EMBED, hv, v.numChannels(), v.patchSize(), v.patchSize());
        b.vector(VisionNames.POSITION_EMBEDDING, 1, v.seqLen(), hv);
        b.norm(VisionNames.PRE_LAYERNORM, hv);
        for (int l = 0; l < v.numHiddenLayers(); l++) {
            VisionLayerNames n = visionLayer(l);
            b.norm(n.inputLayernorm(), hv);
            b.affine(n.queryKeyValue(), 3 * hv, hv);
            b.affine(n.dense(), hv, hv);
            b.norm(n.postAttentionLayernorm(), hv);
            b.affine(n.fc1(), fv, hv);
            b.affine(n.fc2(), hv, fv);
        }
        if (v.usePostLayernorm()) {
            b.norm(VisionNames.POST_LAYERNORM, hv);
        }

        // visual abstractor (docs/model.md, Abstractor)
        Owl2Config.AbstractorConfig a = c.abstractor();
        int ha = a.hiddenSize(), fa = a.intermediateSize(), enc = a.encoderHiddenSize(), nq = a.numLearnableQueries();
        b.component = Component.ABSTRACTOR;
        b.vector(AbstractorNames.QUERY_EMBEDS, 1, nq, ha);
        b.affine(AbstractorNames.VISUAL_FC, h, ha);
        b.vector(AbstractorNames.VIT_EOS, 1, 1, h);
        for (int l = 0; l < a.numHiddenLayers(); l++) {
            AbstractorLayerNames n = abstractorLayer(l);
            b.affine(n.query(), ha, ha);
            b.affine(n.key(), ha, enc);
            b.affine(n.value(), ha, enc);
            b.add(n.qPosEmbed(), Presence.COMPUTED_IF_MISSING, Kind.VECTOR, nq, ha);
            b.add(n.kPosEmbed(), Presence.COMPUTED_IF_MISSING, Kind.VECTOR, 1L + (long) a.gridSize() * a.gridSize(), ha);
            b.norm(n.norm1(), ha);
            b.norm(n.normk(), enc);
            b.affine(n.outProj(), ha, ha);
            b.norm(n.norm2(), ha);
            b.affine(n.w1(), fa, ha);
            b.affine(n.w3(), fa, ha);
            b.affine(n.w2(), ha, fa);
            b.norm(n.ffnLn(), fa);
        }
        return new ExpectedTensors(Collections.unmodifiableMap(m));
    }

    /** All expected tensors in a stable order (decoder, vision, abstractor). */
    public Map<String, Expected> all() {
        return byName;
    }

    /** The entry of {@code name}, or null when the config does not expect it. */
    public Expected get(String name) {
        return byName.get(name);
    }

    /** The entry of a name an engine asks for; a name outside the table is a bug, not bad input. */
    public Expected require(String name) {
        Expected e = byName.get(name);
        if (e == null) throw new IllegalStateException(name + " is not a tensor of this config");
        return e;
    }

    public List<Expected> withPresence(Presence p) {
        return byName.values().stream().filter(e -> e.presence() == p).toList();
    }

    /** Name → shape of every tensor a checkpoint must store, in checkpoint order (for synthetic weights). */
    public Map<String, long[]> requiredShapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (Expected e : withPresence(Presence.REQUIRED)) m.put(e.name(), e.shape().clone());
        return m;
    }

    private static final class Builder {
        final Map<String, Expected> m;
        Component component;

        Builder(Map<String, Expected> m) {
            this.m = m;
        }

        void vector(String name, long... shape) {
            add(name, Presence.REQUIRED, Kind.VECTOR, shape);
        }

        void matrix(String name, long... shape) {
            add(name, Presence.REQUIRED, Kind.MATRIX, shape);
        }

        void projection(String name, long rows, long cols) {
            add(name, Presence.REQUIRED, Kind.DECODER_PROJECTION, rows, cols);
        }

        /** A linear with bias: weight [rows, cols], bias [rows]. */
        void affine(Affine n, long rows, long cols) {
            matrix(n.weight(), rows, cols);
            vector(n.bias(), rows);
        }

        /** A LayerNorm: weight and bias [width]. */
        void norm(Affine n, long width) {
            vector(n.weight(), width);
            vector(n.bias(), width);
        }

        void add(String name, Presence p, Kind kind, long... shape) {
            m.put(name, new Expected(name, shape, component, p, kind));
        }
    }
}
