package dev.owl2j.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.TestData;
import dev.owl2j.model.checkpoint.ExpectedTensors.Component;
import dev.owl2j.model.checkpoint.ExpectedTensors.Expected;
import dev.owl2j.model.checkpoint.ExpectedTensors.Presence;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ExpectedTensorsTest {
    @Test
    void sevenBConfigExpectsExactlyTheReleaseTensors() throws Exception {
        var dir = TestData.root().resolve("checkpoint-tensors");
        Owl2Config cfg = Owl2Config.read(dir.resolve("config.json"));
        JsonNode list = new ObjectMapper().readTree(dir.resolve("checkpoint-tensors.json").toFile());
        Map<String, String> release = new HashMap<>();
        for (JsonNode e : list) {
            long[] shape = new long[e.get(1).size()];
            for (int i = 0; i < shape.length; i++) shape[i] = e.get(1).get(i).asLong();
            release.put(e.get(0).asText(), Arrays.toString(shape));
        }
        assertEquals(882, release.size());
        ExpectedTensors ex = ExpectedTensors.forConfig(cfg);
        Map<String, String> stored = new HashMap<>();
        for (Expected e : ex.all().values()) {
            if (e.presence() != Presence.COMPUTED_IF_MISSING) stored.put(e.name(), e.shapeString());
        }
        assertEquals(release, stored);
        assertEquals(12, ex.withPresence(Presence.COMPUTED_IF_MISSING).size()); // 6 layers x q/k pos tables
        assertEquals(32, ex.withPresence(Presence.OPTIONAL).size()); // rotary inv_freq

        // parameter counts per component equal docs/model.md, Checkpoint (rotary buffers and computed tables excluded)
        Map<Component, Long> params = new EnumMap<>(Component.class);
        for (Expected e : ex.all().values()) {
            if (e.presence() == Presence.REQUIRED) params.merge(e.component(), e.numel(), Long::sum);
        }
        assertEquals(303_966_208L, params.get(Component.VISION));
        assertEquals(81_473_536L, params.get(Component.ABSTRACTOR));
        assertEquals(7_812_419_584L, params.get(Component.DECODER));
    }

    @Test
    void tinyConfigExpectsExactlyTheFixturesTensors() {
        Owl2Config cfg = Owl2Config.read(TestData.tinyFixture().resolve("config.json"));
        ExpectedTensors ex = ExpectedTensors.forConfig(cfg);
        try (SafetensorsFile f = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"))) {
            Map<String, String> stored = new HashMap<>();
            for (String n : f.names()) stored.put(n, f.get(n).shapeString());
            Map<String, String> expected = new HashMap<>();
            ex.all().values().forEach(e -> expected.put(e.name(), e.shapeString()));
            assertEquals(stored, expected);
        }
    }

    @Test
    void typedNamesAndKindsMatchTheTable() {
        Owl2Config cfg = Owl2Config.read(TestData.tinyFixture().resolve("config.json"));
        ExpectedTensors ex = ExpectedTensors.forConfig(cfg);
        var d = ExpectedTensors.decoderLayer(1);
        for (String n : new String[]{d.qProj(), d.kProj(1), d.vProj(0), d.oProj(), d.gateProj(), d.upProj(), d.downProj()}) {
            assertEquals(ExpectedTensors.Kind.DECODER_PROJECTION, ex.require(n).kind(), n);
            assertTrue(ExpectedTensors.isDecoderProjection(n), n);
        }
        assertEquals(ExpectedTensors.Kind.VECTOR, ex.require(d.postAttentionLayernorm(1)).kind());
        assertFalse(ExpectedTensors.isDecoderProjection(d.inputLayernorm(0)));
        assertEquals(Presence.OPTIONAL, ex.require(d.rotaryInvFreq()).presence());
        // the patch conv is a matrix of [hidden, 3·14·14]
        Expected patch = ex.require(ExpectedTensors.VisionNames.PATCH_EMBED);
        assertEquals(cfg.vision().hiddenSize(), patch.rows());
        assertEquals(3 * 14 * 14, patch.cols());
        var v = ExpectedTensors.visionLayer(0);
        assertEquals(ExpectedTensors.Kind.MATRIX, ex.require(v.queryKeyValue().weight()).kind());
        assertEquals(ExpectedTensors.Kind.VECTOR, ex.require(v.queryKeyValue().bias()).kind());
        var a = ExpectedTensors.abstractorLayer(1);
        assertEquals(Presence.COMPUTED_IF_MISSING, ex.require(a.kPosEmbed()).presence());
        assertEquals(ExpectedTensors.Kind.MATRIX, ex.require(a.w2().weight()).kind());
        assertFalse(ExpectedTensors.isDecoderProjection(a.w2().weight()));
        assertThrows(IllegalStateException.class, () -> ex.require(ExpectedTensors.decoderLayer(99).qProj()));
        // every REQUIRED shape a synthetic model is made from
        assertEquals(ex.withPresence(Presence.REQUIRED).size(), ex.requiredShapes().size());
    }
}
