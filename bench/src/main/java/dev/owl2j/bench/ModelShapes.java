package dev.owl2j.bench;

import dev.owl2j.model.config.Owl2Config;

import java.util.LinkedHashMap;
import java.util.Map;

/** Every checkpoint tensor name of mPLUG-Owl2 with its shape for a config (docs/model.md). */
final class ModelShapes {
    private ModelShapes() {}

    static Map<String, long[]> of(Owl2Config cfg) {
        Map<String, long[]> m = new LinkedHashMap<>();
        var vc = cfg.vision();
        var ac = cfg.abstractor();
        long vh = vc.hiddenSize(), vi = vc.intermediateSize(), p = vc.patchSize();
        String ve = "model.vision_model.embeddings.";
        m.put(ve + "cls_token", new long[]{1, 1, vh});
        m.put(ve + "patch_embed.weight", new long[]{vh, vc.numChannels(), p, p});
        m.put(ve + "position_embedding", new long[]{1, vc.seqLen(), vh});
        m.put(ve + "pre_layernorm.weight", new long[]{vh});
        m.put(ve + "pre_layernorm.bias", new long[]{vh});
        for (int i = 0; i < vc.numHiddenLayers(); i++) {
            String l = "model.vision_model.encoder.layers." + i + ".";
            m.put(l + "input_layernorm.weight", new long[]{vh});
            m.put(l + "input_layernorm.bias", new long[]{vh});
            m.put(l + "self_attn.query_key_value.weight", new long[]{3 * vh, vh});
            m.put(l + "self_attn.query_key_value.bias", new long[]{3 * vh});
            m.put(l + "self_attn.dense.weight", new long[]{vh, vh});
            m.put(l + "self_attn.dense.bias", new long[]{vh});
            m.put(l + "post_attention_layernorm.weight", new long[]{vh});
            m.put(l + "post_attention_layernorm.bias", new long[]{vh});
            m.put(l + "mlp.fc1.weight", new long[]{vi, vh});
            m.put(l + "mlp.fc1.bias", new long[]{vi});
            m.put(l + "mlp.fc2.weight", new long[]{vh, vi});
            m.put(l + "mlp.fc2.bias", new long[]{vh});
        }
        m.put("model.vision_model.post_layernorm.weight", new long[]{vh});
        m.put("model.vision_model.post_layernorm.bias", new long[]{vh});

        long ah = ac.hiddenSize(), ai = ac.intermediateSize(), hidden = cfg.hiddenSize();
        String a = "model.visual_abstractor.";
        m.put(a + "query_embeds", new long[]{1, ac.numLearnableQueries(), ah});
        m.put(a + "visual_fc.weight", new long[]{hidden, ah});
        m.put(a + "visual_fc.bias", new long[]{hidden});
        m.put(a + "vit_eos", new long[]{1, 1, hidden});
        for (int i = 0; i < ac.numHiddenLayers(); i++) {
            String l = a + "encoder.layers." + i + ".crossattention.";
            for (String proj : new String[]{"query", "key", "value"}) {
                m.put(l + "attention." + proj + ".weight", new long[]{ah, ah});
                m.put(l + "attention." + proj + ".bias", new long[]{ah});
            }
            for (String norm : new String[]{"norm1", "normk", "output.norm2"}) {
                m.put(l + norm + ".weight", new long[]{ah});
                m.put(l + norm + ".bias", new long[]{ah});
            }
            m.put(l + "output.out_proj.weight", new long[]{ah, ah});
            m.put(l + "output.out_proj.bias", new long[]{ah});
            m.put(l + "output.mlp.w1.weight", new long[]{ai, ah});
            m.put(l + "output.mlp.w1.bias", new long[]{ai});
            m.put(l + "output.mlp.w3.weight", new long[]{ai, ah});
            m.put(l + "output.mlp.w3.bias", new long[]{ai});
            m.put(l + "output.mlp.w2.weight", new long[]{ah, ai});
            m.put(l + "output.mlp.w2.bias", new long[]{ah});
            m.put(l + "output.mlp.ffn_ln.weight", new long[]{ai});
            m.put(l + "output.mlp.ffn_ln.bias", new long[]{ai});
        }

        long inter = cfg.intermediateSize(), qDim = (long) cfg.numAttentionHeads() * cfg.headDim();
        long kvDim = (long) cfg.numKeyValueHeads() * cfg.headDim();
        m.put("model.embed_tokens.weight", new long[]{cfg.vocabSize(), hidden});
        for (int i = 0; i < cfg.numHiddenLayers(); i++) {
            String l = "model.layers." + i + ".";
            for (int w = 0; w < 2; w++) {
                m.put(l + "input_layernorm.multiway." + w + ".weight", new long[]{hidden});
                m.put(l + "self_attn.k_proj.multiway." + w + ".weight", new long[]{kvDim, hidden});
                m.put(l + "self_attn.v_proj.multiway." + w + ".weight", new long[]{kvDim, hidden});
                m.put(l + "post_attention_layernorm.multiway." + w + ".weight", new long[]{hidden});
            }
            m.put(l + "self_attn.q_proj.weight", new long[]{qDim, hidden});
            m.put(l + "self_attn.o_proj.weight", new long[]{hidden, qDim});
            m.put(l + "mlp.gate_proj.weight", new long[]{inter, hidden});
            m.put(l + "mlp.up_proj.weight", new long[]{inter, hidden});
            m.put(l + "mlp.down_proj.weight", new long[]{hidden, inter});
        }
        m.put("model.norm.weight", new long[]{hidden});
        m.put("lm_head.weight", new long[]{cfg.vocabSize(), hidden});
        return m;
    }
}
