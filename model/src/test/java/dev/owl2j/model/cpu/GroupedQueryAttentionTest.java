package dev.owl2j.model.cpu;

import dev.owl2j.model.NumericAssert;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.TestData;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Grouped-query attention (num_key_value_heads < num_attention_heads). A GQA variant of the fixture keeps the
 * k/v rows of heads 0 and 2 only (2 kv heads for 4 query heads); the MHA model whose k/v weights repeat those
 * heads as 0,0,2,2 computes exactly the same function, so every logit must agree (tolerance 1e-5).
 */
class GroupedQueryAttentionTest {
    static final double LOGIT_TOLERANCE = 1e-5;

    @Test
    void gqaModelEqualsTheMhaModelWithRepeatedKvHeads() throws Exception {
        Owl2Config mhaConfig = Fixture.CONFIG;
        int headDim = mhaConfig.headDim();
        assertEquals(4, mhaConfig.numAttentionHeads());

        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(Files.readString(TestData.tinyFixture().resolve("config.json")));
        json.put("num_key_value_heads", 2);
        Owl2Config gqaConfig = Owl2Config.parse(json.toString());
        assertEquals(2, gqaConfig.numKeyValueHeads());

        int[] keptHeads = {0, 2};
        int[] repeatedHeads = {0, 0, 2, 2};
        Map<String, Tensor> gqaWeights = new HashMap<>();
        Map<String, Tensor> mhaWeights = new HashMap<>();
        for (int l = 0; l < mhaConfig.numHiddenLayers(); l++) {
            var names = dev.owl2j.model.checkpoint.ExpectedTensors.decoderLayer(l);
            for (int way = 0; way < 2; way++) {
                for (String name : List.of(names.kProj(way), names.vProj(way))) {
                    Tensor original = Fixture.WEIGHTS.get(name);
                    gqaWeights.put(name, OverlaySource.selectRows(original, headRows(keptHeads, headDim)));
                    mhaWeights.put(name, OverlaySource.selectRows(original, headRows(repeatedHeads, headDim)));
                }
            }
        }
        Owl2Model gqa = Owl2Model.load(new OverlaySource(Fixture.WEIGHTS, gqaWeights, Set.of()), gqaConfig, dev.owl2j.model.cpu.kernel.Linears.vectorFactory(null));
        Owl2Model mha = Owl2Model.load(new OverlaySource(Fixture.WEIGHTS, mhaWeights, Set.of()), mhaConfig, dev.owl2j.model.cpu.kernel.Linears.vectorFactory(null));

        int[] ids = Fixture.promptIds("prompt0");
        List<float[]> images = List.of(Fixture.model().encodeImage(Fixture.golden("image0.pixel_values")));
        Session g = gqa.newSession();
        Session m = mha.newSession();
        float[] gLogits = g.prefill(ids, images);
        float[] mLogits = m.prefill(ids, images);
        NumericAssert.assertAllClose("GQA vs repeated-head MHA, prefill", mLogits, gLogits, LOGIT_TOLERANCE);
        for (int s = 0; s < 3; s++) {
            int next = Owl2ModelTest.argmax(mLogits);
            gLogits = g.step(next);
            mLogits = m.step(next);
            NumericAssert.assertAllClose("GQA vs repeated-head MHA, step " + s, mLogits, gLogits, LOGIT_TOLERANCE);
        }

        // The variant is a different model from the fixture, so the agreement above is not trivial.
        float[] original = Fixture.model().newSession().prefill(ids, images);
        float[] variant = gqa.newSession().prefill(ids, images);
        double maxDiff = 0;
        for (int i = 0; i < original.length; i++) maxDiff = Math.max(maxDiff, Math.abs(original[i] - variant[i]));
        assertTrue(maxDiff > 1e-3, "dropping kv heads must change the logits, max diff " + maxDiff);
    }

    /** The weight rows of the given heads, in that order. */
    private static int[] headRows(int[] heads, int headDim) {
        int[] rows = new int[heads.length * headDim];
        for (int i = 0; i < heads.length; i++) {
            for (int d = 0; d < headDim; d++) {
                rows[i * headDim + d] = heads[i] * headDim + d;
            }
        }
        return rows;
    }
}
