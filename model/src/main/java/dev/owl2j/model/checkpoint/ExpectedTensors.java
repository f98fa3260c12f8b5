package dev.owl2j.model.checkpoint;

import dev.owl2j.model.config.Owl2Config;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every tensor an mPLUG-Owl2 checkpoint holds, by name and shape, derived from its config (docs/model.md,
 * Checkpoint). The release's names are the state_dict of MPLUGOwl2LlamaForCausalLM as written by the converter.
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

    public record Expected(String name, long[] shape, Component component, Presence presence) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public String shapeString() {
            return Arrays.toString(shape);
        }
    }

    private final Map<String, Expected> byName;

    private ExpectedTensors(Map<String, Expected> byName) {
        this.byName = byName;
    }

    public static ExpectedTensors forConfig(Owl2Config c) {
        Map<String, Expected> m = new LinkedHashMap<>();
        Builder b = new Builder(m);

        // decoder (docs/model.md, Decoder): shared q/o/MLP, per-modality (multiway 0 = text, 1 = visual) k/v and RMSNorms
        int h = c.hiddenSize(), kv = c.numKeyValueHeads() * c.headDim(), ff = c.intermediateSize();
        b.component = Component.DECODER;
        b.req("model.embed_tokens.weight", c.vocabSize(), h);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            b.req(p + "self_attn.q_proj.weight", h, h);
            for (int w = 0; w < 2; w++) {
                b.req(p + "self_attn.k_proj.multiway." + w + ".weight", kv, h);
                b.req(p + "self_attn.v_proj.multiway." + w + ".weight", kv, h);
            }
            b.req(p + "self_attn.o_proj.weight", h, h);
            b.req(p + "mlp.gate_proj.weight", ff, h);
            b.req(p + "mlp.up_proj.weight", ff, h);
            b.req(p + "mlp.down_proj.weight", h, ff);
            for (int w = 0; w < 2; w++) {
                b.req(p + "input_layernorm.multiway." + w + ".weight", h);
                b.req(p + "post_attention_layernorm.multiway." + w + ".weight", h);
            }
            b.add(p + "self_attn.rotary_emb.inv_freq", Presence.OPTIONAL, c.headDim() / 2);
        }
        b.req("model.norm.weight", h);
        b.add("lm_head.weight", c.tieWordEmbeddings() ? Presence.OPTIONAL : Presence.REQUIRED, c.vocabSize(), h);

        // vision encoder (docs/model.md, Vision encoder)
        Owl2Config.VisionConfig v = c.vision();
        int hv = v.hiddenSize();
        b.component = Component.VISION;
        String vp = "model.vision_model.";
        b.req(vp + "embeddings.cls_token", 1, 1, hv);
        b.req(vp + "embeddings.patch_embed.weight", hv, v.numChannels(), v.patchSize(), v.patchSize());
        b.req(vp + "embeddings.position_embedding", 1, v.seqLen(), hv);
        b.req(vp + "embeddings.pre_layernorm.weight", hv);
        b.req(vp + "embeddings.pre_layernorm.bias", hv);
        for (int l = 0; l < v.numHiddenLayers(); l++) {
            String p = vp + "encoder.layers." + l + ".";
            b.req(p + "input_layernorm.weight", hv);
            b.req(p + "input_layernorm.bias", hv);
            b.req(p + "self_attn.query_key_value.weight", 3L * hv, hv);
            b.req(p + "self_attn.query_key_value.bias", 3L * hv);
            b.req(p + "self_attn.dense.weight", hv, hv);
            b.req(p + "self_attn.dense.bias", hv);
            b.req(p + "post_attention_layernorm.weight", hv);
            b.req(p + "post_attention_layernorm.bias", hv);
            b.req(p + "mlp.fc1.weight", v.intermediateSize(), hv);
            b.req(p + "mlp.fc1.bias", v.intermediateSize());
            b.req(p + "mlp.fc2.weight", hv, v.intermediateSize());
            b.req(p + "mlp.fc2.bias", hv);
        }
        if (v.usePostLayernorm()) {
            b.req(vp + "post_layernorm.weight", hv);
            b.req(vp + "post_layernorm.bias", hv);
        }

        // visual abstractor (docs/model.md, Abstractor)
        Owl2Config.AbstractorConfig a = c.abstractor();
        int ha = a.hiddenSize(), fa = a.intermediateSize();
        b.component = Component.ABSTRACTOR;
        String ap = "model.visual_abstractor.";
        b.req(ap + "query_embeds", 1, a.numLearnableQueries(), ha);
        b.req(ap + "visual_fc.weight", h, ha);
        b.req(ap + "visual_fc.bias", h);
        b.req(ap + "vit_eos", 1, 1, h);
        for (int l = 0; l < a.numHiddenLayers(); l++) {
            String p = ap + "encoder.layers." + l + ".crossattention.";
            for (String proj : new String[]{"query", "key", "value"}) {
                b.req(p + "attention." + proj + ".weight", ha, proj.equals("query") ? ha : a.encoderHiddenSize());
                b.req(p + "attention." + proj + ".bias", ha);
            }
            b.add(p + "attention.q_pos_embed", Presence.COMPUTED_IF_MISSING, a.numLearnableQueries(), ha);
            b.add(p + "attention.k_pos_embed", Presence.COMPUTED_IF_MISSING, 1L + (long) a.gridSize() * a.gridSize(), ha);
            b.req(p + "norm1.weight", ha);
            b.req(p + "norm1.bias", ha);
            b.req(p + "normk.weight", a.encoderHiddenSize());
            b.req(p + "normk.bias", a.encoderHiddenSize());
            b.req(p + "output.out_proj.weight", ha, ha);
            b.req(p + "output.out_proj.bias", ha);
            b.req(p + "output.norm2.weight", ha);
            b.req(p + "output.norm2.bias", ha);
            b.req(p + "output.mlp.w1.weight", fa, ha);
            b.req(p + "output.mlp.w1.bias", fa);
            b.req(p + "output.mlp.w3.weight", fa, ha);
            b.req(p + "output.mlp.w3.bias", fa);
            b.req(p + "output.mlp.w2.weight", ha, fa);
            b.req(p + "output.mlp.w2.bias", ha);
            b.req(p + "output.mlp.ffn_ln.weight", fa);
            b.req(p + "output.mlp.ffn_ln.bias", fa);
        }
        return new ExpectedTensors(Collections.unmodifiableMap(m));
    }

    /** All expected tensors in a stable order (decoder, vision, abstractor). */
    public Map<String, Expected> all() {
        return byName;
    }

    public Expected get(String name) {
        return byName.get(name);
    }

    public List<Expected> withPresence(Presence p) {
        return byName.values().stream().filter(e -> e.presence() == p).toList();
    }

    /** The component a tensor name belongs to by its prefix (also for names the config does not expect). */
    public static Component componentOf(String name) {
        if (name.startsWith("model.vision_model.")) return Component.VISION;
        if (name.startsWith("model.visual_abstractor.")) return Component.ABSTRACTOR;
        return Component.DECODER;
    }

    private static final class Builder {
        final Map<String, Expected> m;
        Component component;

        Builder(Map<String, Expected> m) {
            this.m = m;
        }

        void req(String name, long... shape) {
            add(name, Presence.REQUIRED, shape);
        }

        void add(String name, Presence p, long... shape) {
            m.put(name, new Expected(name, shape, component, p));
        }
    }
}
