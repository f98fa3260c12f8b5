package dev.owl2j.model.checkpoint;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointConverterTest {
    @Test
    void binToShardedSafetensorsKeepsEveryBit(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("st");
        try (ModelCheckpoint bin = ModelCheckpoint.open(TestData.root().resolve("tiny-owl2-bin"))) {
            // the fixture is ~9.5 MB: 3 MB shards give several files (embed_tokens and lm_head are 4 MB each:
            // a tensor larger than the shard size gets a shard of its own)
            CheckpointConverter.Result r = CheckpointConverter.convert(bin.storedTensors(), out, TensorTransform.identity(), 3_000_000);
            CheckpointConverter.copySideFiles(bin.dir(), out);
            assertTrue(r.files().size() > 3, r.files().toString());
            assertTrue(Files.isRegularFile(out.resolve("model.safetensors.index.json")));
            try (Stream<Path> s = Files.list(out)) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".partial")));
            }
            for (Path f : r.files()) {
                if (f.toString().endsWith(".safetensors")) {
                    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                        long bytes = sf.entries().values().stream().mapToLong(e -> e.end() - e.begin()).sum();
                        assertTrue(bytes <= 3_000_000 || sf.names().size() == 1, f + " holds " + bytes);
                    }
                }
            }
        }
        try (ModelCheckpoint st = ModelCheckpoint.open(out);
             SafetensorsFile fixture = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"))) {
            assertTrue(st.report().format().startsWith("safetensors ("), st.report().format());
            assertEquals(4, st.report().computed().size());
            assertEquals(new HashSet<>(fixture.names()), new HashSet<>(st.tensors().names()));
            for (String n : st.storedTensors().names()) {
                assertBitsEqual(fixture.get(n), st.storedTensors().get(n));
            }
            assertEquals(64, st.config().hiddenSize());
        }
    }

    @Test
    void oneShardWhenItFitsAndDtypeTransformApplies(@TempDir Path tmp) {
        Path out = tmp.resolve("bf16");
        try (SafetensorsFile fixture = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"))) {
            var r = CheckpointConverter.convert(fixture, out, new DTypeTransform(DType.BF16), 2L << 30);
            assertEquals(List.of(out.resolve("model.safetensors")), r.files());
            try (SafetensorsFile g = SafetensorsFile.open(out.resolve("model.safetensors"))) {
                assertEquals(fixture.names(), g.names());
                for (String n : g.names()) {
                    Tensor a = fixture.get(n), b = g.get(n);
                    assertEquals(DTypeTransform.isBuffer(n) ? DType.F32 : DType.BF16, b.dtype(), n);
                    if (b.dtype() == DType.BF16) {
                        // every F16 weight of the fixture widened and rounded to BF16 (checked against torch below)
                        for (int i = 0; i < a.numel(); i++) {
                            assertEquals(DTypeTransform.toBFloat16(a.getFloat(i)), b.data().get(Tensor.I16_LE, i * 2L));
                        }
                    } else {
                        assertBitsEqual(a, b);
                    }
                }
            }
        }
    }

    @Test
    void dtypeConversionsEqualTorchsBitForBit() {
        try (SafetensorsFile c = SafetensorsFile.open(TestData.root().resolve("torch-bin/conversions.expected.safetensors"))) {
            DTypeTransform f16 = new DTypeTransform(DType.F16), bf16 = new DTypeTransform(DType.BF16), f32 = new DTypeTransform(DType.F32);
            assertBitsEqual(c.get("f32_to_f16"), renamed(f16.apply(c.get("f32")), "f32_to_f16"));
            assertBitsEqual(c.get("f32_to_bf16"), renamed(bf16.apply(c.get("f32")), "f32_to_bf16"));
            assertBitsEqual(c.get("f16_to_bf16"), renamed(bf16.apply(c.get("f16")), "f16_to_bf16"));
            assertBitsEqual(c.get("f16_to_bf16_to_f32"), renamed(bf16.andThen(f32).apply(c.get("f16")), "f16_to_bf16_to_f32"));
            assertBitsEqual(c.get("bf16_to_f16"), renamed(f16.apply(c.get("f32_to_bf16")), "bf16_to_f16"));
            assertBitsEqual(c.get("f16"), renamed(f16.apply(c.get("f16")), "f16"));
        }
        assertThrows(Owl2jException.class, () -> DTypeTransform.parse("f8"));
    }

    @Test
    void emptySourceAndBadShardSizeAreRefused(@TempDir Path tmp) {
        TensorSource empty = new TensorSource() {
            public java.util.Set<String> names() { return java.util.Set.of(); }
            public boolean contains(String name) { return false; }
            public Tensor get(String name) { throw new IllegalStateException(); }
            public String formatName() { return "empty"; }
            public void close() {}
        };
        assertThrows(Owl2jException.class, () -> CheckpointConverter.convert(empty, tmp, TensorTransform.identity(), 100));
        assertThrows(Owl2jException.class, () -> CheckpointConverter.convert(empty, tmp, TensorTransform.identity(), 0));
    }

    private static Tensor renamed(Tensor t, String name) {
        return new Tensor(name, t.dtype(), t.shape(), t.data());
    }

    static void assertBitsEqual(Tensor want, Tensor got) {
        assertEquals(want.dtype(), got.dtype(), want.name());
        assertArrayEquals(want.shape(), got.shape(), want.name());
        assertEquals(-1L, want.data().mismatch(got.data()), want.name());
    }
}
