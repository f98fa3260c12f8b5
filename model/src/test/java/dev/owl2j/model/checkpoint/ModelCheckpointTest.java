package dev.owl2j.model.checkpoint;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;
import dev.owl2j.model.checkpoint.ExpectedTensors.Component;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.format.SafetensorsWriter;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ModelCheckpointTest {
    static Path binDir() {
        return TestData.root().resolve("tiny-owl2-bin");
    }

    @Test
    void opensTheSafetensorsFixture() {
        try (ModelCheckpoint mc = ModelCheckpoint.open(TestData.tinyFixture())) {
            CheckpointReport r = mc.report();
            assertEquals("safetensors", r.format());
            assertEquals(1, r.files().size());
            assertTrue(r.computed().isEmpty());
            assertTrue(r.unexpected().isEmpty());
            assertTrue(r.missingOptional().isEmpty());
            assertEquals(64, mc.config().hiddenSize());
            assertEquals(448, mc.preprocessor().cropHeight());
            assertEquals(2, mc.generation().eosTokenId());
            assertEquals(Map.of(DType.F16, 108, DType.F32, 6), Map.copyOf(r.tensorsByDType()));
            // parameters: every stored F16 tensor (the F32 ones are buffers)
            long f16 = 0;
            for (String n : mc.storedTensors().names()) {
                Tensor t = mc.storedTensors().get(n);
                if (t.dtype() == DType.F16) f16 += t.numel();
            }
            assertEquals(f16, r.totalParameters());
        }
    }

    @Test
    void opensTheShardedBinCopyAndComputesTheMissingPositionTables() {
        try (ModelCheckpoint mc = ModelCheckpoint.open(binDir());
             SafetensorsFile st = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"))) {
            CheckpointReport r = mc.report();
            assertEquals("pytorch .bin (2 shards)", r.format());
            assertEquals(List.of("pytorch_model-1-of-2.bin", "pytorch_model-2-of-2.bin"),
                    r.files().stream().map(p -> p.getFileName().toString()).toList());
            assertEquals(4, r.computed().size());
            assertEquals(st.names().size(), mc.tensors().names().size());
            // the computed tables equal the F32 buffers a float32 torch build stored in the fixture (tolerance 1e-6:
            // sin/cos of the same float angles may differ in the last bit between libm and Java)
            for (String n : r.computed()) {
                float[] got = mc.tensors().get(n).toFloatArray(), want = st.get(n).toFloatArray();
                assertEquals(want.length, got.length, n);
                for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-6f, n + "[" + i + "]");
            }
            assertEquals(mc.report().parameters().get(Component.VISION), reportOf(TestData.tinyFixture()).parameters().get(Component.VISION));
        }
    }

    private static CheckpointReport reportOf(Path dir) {
        try (ModelCheckpoint mc = ModelCheckpoint.open(dir)) {
            return mc.report();
        }
    }

    @Test
    void missingAndMisShapedTensorsAreNamed(@TempDir Path tmp) throws Exception {
        List<Tensor> all = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"))) {
            for (String n : f.names()) {
                if (!n.equals("model.norm.weight")) all.add(f.get(n));
            }
            Path missing = copyJsons(tmp.resolve("missing"));
            SafetensorsWriter.write(missing.resolve("model.safetensors"), all, Map.of());
            Owl2jException e = assertThrows(Owl2jException.class, () -> ModelCheckpoint.open(missing));
            assertEquals("checkpoint lacks 1 required tensor, first model.norm.weight [64]", e.getMessage());

            Tensor norm = f.get("model.norm.weight");
            all.add(new Tensor(norm.name(), DType.F16, new long[]{32}, norm.data().asSlice(0, 64)));
            Path bad = copyJsons(tmp.resolve("bad"));
            SafetensorsWriter.write(bad.resolve("model.safetensors"), all, Map.of());
            e = assertThrows(Owl2jException.class, () -> ModelCheckpoint.open(bad));
            assertEquals("tensor model.norm.weight has shape [32] but config.json implies [64]", e.getMessage());

            all.removeLast();
            all.add(norm);
            all.add(new Tensor("extra.weight", DType.F16, new long[]{32}, norm.data().asSlice(0, 64)));
            Path extra = copyJsons(tmp.resolve("extra"));
            SafetensorsWriter.write(extra.resolve("model.safetensors"), all, Map.of());
            try (ModelCheckpoint mc = ModelCheckpoint.open(extra)) {
                assertEquals(List.of("extra.weight"), mc.report().unexpected());
            }
            e = assertThrows(Owl2jException.class, () -> ModelCheckpoint.open(extra, true));
            assertTrue(e.getMessage().contains("extra.weight"), e.getMessage());
        }
    }

    @Test
    void defaultsWhenOptionalJsonAbsentAndOneLineErrorsForBadJson(@TempDir Path tmp) throws Exception {
        Path d = Files.createDirectories(tmp.resolve("m"));
        Files.copy(TestData.tinyFixture().resolve("config.json"), d.resolve("config.json"));
        Files.createSymbolicLink(d.resolve("model.safetensors"), TestData.tinyFixture().resolve("model.safetensors").toAbsolutePath());
        try (ModelCheckpoint mc = ModelCheckpoint.open(d)) {
            assertEquals(448, mc.preprocessor().shortestEdge());
            assertEquals(1, mc.generation().bosTokenId());
        }
        Files.writeString(d.resolve("generation_config.json"), "{\"eos_token_id\": 2, \"unknown_key\": [1,2], ");
        Owl2jException e = assertThrows(Owl2jException.class, () -> ModelCheckpoint.open(d));
        assertTrue(e.getMessage().contains("generation_config.json"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        Files.delete(d.resolve("generation_config.json"));
        Files.writeString(d.resolve("preprocessor_config.json"), "{\"crop_size\": 448, \"new_key\": 1,");
        e = assertThrows(Owl2jException.class, () -> ModelCheckpoint.open(d));
        assertTrue(e.getMessage().contains("preprocessor_config.json"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        Files.writeString(d.resolve("preprocessor_config.json"), "{\"crop_size\": 448, \"new_key\": 1}");
        try (ModelCheckpoint mc = ModelCheckpoint.open(d)) {
            assertEquals(448, mc.preprocessor().cropWidth());
        }
        Files.delete(d.resolve("preprocessor_config.json"));
        Files.writeString(d.resolve("config.json"), "{\"hidden_size\": \"wide\"}");
        e = assertThrows(Owl2jException.class, () -> ModelCheckpoint.open(d));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        Files.delete(d.resolve("config.json"));
        e = assertThrows(Owl2jException.class, () -> ModelCheckpoint.open(d));
        assertTrue(e.getMessage().startsWith("config.json not found"), e.getMessage());
        Owl2Config c = Owl2Config.parse("{\"hidden_size\": 64, \"num_attention_heads\": 4, \"some_future_key\": {\"a\": 1}}");
        assertEquals(64, c.hiddenSize());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Files.copy(TestData.tinyFixture().resolve("config.json"), empty.resolve("config.json"));
        e = assertThrows(Owl2jException.class, () -> ModelCheckpoint.open(empty));
        assertTrue(e.getMessage().startsWith("no weights in "), e.getMessage());
    }

    static Path copyJsons(Path dir) throws Exception {
        Files.createDirectories(dir);
        for (String j : new String[]{"config.json", "generation_config.json", "preprocessor_config.json"}) {
            Files.copy(TestData.tinyFixture().resolve(j), dir.resolve(j));
        }
        return dir;
    }
}
