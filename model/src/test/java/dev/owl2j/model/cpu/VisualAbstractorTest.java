package dev.owl2j.model.cpu;

import dev.owl2j.model.NumericAssert;
import dev.owl2j.model.host.SinCosPositions;

import dev.owl2j.model.format.TensorSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Visual abstractor and the whole image path against the float64 oracle. States: 1e-5 abs. */
class VisualAbstractorTest {
    static final double STATE_TOLERANCE = 1e-5;

    @ParameterizedTest
    @ValueSource(strings = {"image0", "image1"})
    void layersAndVisualTokensFromTheGoldenVisionOutput(String image) {
        Map<String, float[]> stages = new HashMap<>();
        float[] tokens = Fixture.model().visualAbstractor().forward(
                Fixture.golden(image + ".vision.last_hidden_state"), (name, rows, cols, data) -> stages.put(name, data));
        for (int l = 0; l < Fixture.CONFIG.abstractor().numHiddenLayers(); l++) {
            NumericAssert.assertAllClose(image + ".abstractor.layer" + l,
                    Fixture.golden(image + ".abstractor.layer" + l), stages.get("abstractor.layer" + l), STATE_TOLERANCE);
        }
        NumericAssert.assertAllClose(image + ".visual_tokens", Fixture.golden(image + ".visual_tokens"), tokens, STATE_TOLERANCE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"image0", "image1"})
    void encodeImageFromPixelsGivesTheGoldenVisualTokens(String image) {
        float[] tokens = Fixture.model().encodeImage(Fixture.golden(image + ".pixel_values"));
        NumericAssert.assertAllClose(image + ".visual_tokens from pixels", Fixture.golden(image + ".visual_tokens"), tokens, STATE_TOLERANCE);
    }

    /** docs/model.md, Abstractor (position tables): the tables computed when the checkpoint lacks them equal the F32 buffers the fixture stores. */
    @Test
    void computedSinCosTablesEqualTheStoredBuffers() {
        int hidden = Fixture.CONFIG.abstractor().hiddenSize();
        for (int l = 0; l < Fixture.CONFIG.abstractor().numHiddenLayers(); l++) {
            var names = dev.owl2j.model.checkpoint.ExpectedTensors.abstractorLayer(l);
            NumericAssert.assertAllClose("q_pos_embed layer " + l, Fixture.WEIGHTS.get(names.qPosEmbed()).toFloatArray(),
                    SinCosPositions.queryTable(hidden, 64), 1e-6);
            NumericAssert.assertAllClose("k_pos_embed layer " + l, Fixture.WEIGHTS.get(names.kPosEmbed()).toFloatArray(),
                    SinCosPositions.keyTable(hidden, 32), 1e-6);
        }
    }

    /** The check values docs/model.md (Abstractor, position tables) lists for the release width 1024 (float32). */
    @Test
    void sinCosTablesAtReleaseWidthMatchTheSpecSanityValues() {
        float[] pq = SinCosPositions.queryTable(1024, 64);
        float[] pk = SinCosPositions.keyTable(1024, 32);
        assertEquals(0.841471, pq[1024], 1e-6);
        assertEquals(0.540302, pq[1024 + 512], 1e-6);
        assertEquals(0.831705, pq[1024 + 1], 1e-6);
        assertEquals(0.841471, pk[2 * 1024], 1e-6);
        assertEquals(0.540302, pk[2 * 1024 + 256], 1e-6);
        assertEquals(0.0, pk[2 * 1024 + 512], 1e-6);
        assertEquals(1.0, pk[2 * 1024 + 768], 1e-6);
        assertEquals(0.0, pk[33 * 1024], 1e-6);
        assertEquals(1.0, pk[33 * 1024 + 256], 1e-6);
        assertEquals(0.841471, pk[33 * 1024 + 512], 1e-6);
        assertEquals(0.540302, pk[33 * 1024 + 768], 1e-6);
        for (int i = 0; i < 1024; i++) {
            assertEquals(0f, pk[i], "CLS row of Pk must be zero");
        }
        double sumQ = 0, sumK = 0;
        for (float v : pq) sumQ += v;
        for (float v : pk) sumK += v;
        assertEquals(25048.27, sumQ, 0.05);
        assertEquals(439601.44, sumK, 0.05);
    }

    /** Without the stored buffers (the real release) the computed tables give the same visual tokens. */
    @Test
    void checkpointWithoutPositionBuffersGivesTheSameVisualTokens() {
        Set<String> buffers = new LinkedHashSet<>();
        for (String n : Fixture.WEIGHTS.names()) {
            if (n.endsWith("q_pos_embed") || n.endsWith("k_pos_embed")) buffers.add(n);
        }
        assertEquals(2 * Fixture.CONFIG.abstractor().numHiddenLayers(), buffers.size());
        TensorSource withoutBuffers = new OverlaySource(Fixture.WEIGHTS, Map.of(), buffers);
        Owl2Model model = Owl2Model.load(withoutBuffers, Fixture.CONFIG, dev.owl2j.model.cpu.kernel.Linears.vectorFactory(null));
        float[] tokens = model.visualAbstractor().forward(Fixture.golden("image0.vision.last_hidden_state"), Trace.NONE);
        NumericAssert.assertAllClose("visual_tokens with computed sin-cos tables",
                Fixture.golden("image0.visual_tokens"), tokens, STATE_TOLERANCE);
    }
}
