package dev.owl2j.model.format;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsFileTest {
    @Test
    void readsFixtureCheckpoint() {
        try (SafetensorsFile f = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"))) {
            Tensor t = f.get("model.embed_tokens.weight");
            assertEquals(DType.F16, t.dtype());
            assertArrayEquals(new long[]{32000, 64}, t.shape());
            Tensor inv = f.get("model.layers.0.self_attn.rotary_emb.inv_freq");
            assertEquals(DType.F32, inv.dtype());
            // inv_freq[i] = 10000^(-2i/16) for head_dim 16: the stored buffer must equal the formula.
            for (int i = 0; i < inv.numel(); i++) {
                assertEquals(Math.pow(10000, -2.0 * i / (2 * inv.numel())), inv.getFloat(i), 1e-6);
            }
        }
    }

    @Test
    void headerPointingOutsideTheFileIsRefused(@TempDir Path dir) throws Exception {
        Path p = write(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        Owl2jException e = assertThrows(Owl2jException.class, () -> SafetensorsFile.open(p));
        assertTrue(e.getMessage().contains("outside"), e.getMessage());
    }

    @Test
    void overlappingTensorsAreRefused(@TempDir Path dir) throws Exception {
        Path p = write(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        Owl2jException e = assertThrows(Owl2jException.class, () -> SafetensorsFile.open(p));
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());
    }

    @Test
    void sizeMismatchAndBadDtypeAndHugeHeaderAreRefused(@TempDir Path dir) throws Exception {
        Path p1 = write(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
        assertTrue(assertThrows(Owl2jException.class, () -> SafetensorsFile.open(p1)).getMessage().contains("needs 12"));
        Path p2 = write(dir, "{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
        assertTrue(assertThrows(Owl2jException.class, () -> SafetensorsFile.open(p2)).getMessage().contains("unsupported dtype C64"));
        Path p3 = dir.resolve("huge.safetensors");
        Files.write(p3, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertTrue(assertThrows(Owl2jException.class, () -> SafetensorsFile.open(p3)).getMessage().contains("header length"));
        Path p4 = write(dir, "not json", 0);
        assertTrue(assertThrows(Owl2jException.class, () -> SafetensorsFile.open(p4)).getMessage().contains("JSON"));
    }

    @Test
    void writerRoundTripsEveryByte(@TempDir Path dir) {
        Path out = dir.resolve("copy.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"))) {
            java.util.List<Tensor> all = f.names().stream().map(f::get).toList();
            SafetensorsWriter.write(out, all, java.util.Map.of("format", "pt"));
            try (SafetensorsFile g = SafetensorsFile.open(out)) {
                assertEquals(f.names(), g.names());
                assertEquals("pt", g.metadata().get("format"));
                for (String n : f.names()) {
                    Tensor a = f.get(n), b = g.get(n);
                    assertEquals(a.dtype(), b.dtype());
                    assertArrayEquals(a.shape(), b.shape());
                    assertEquals(-1L, a.data().mismatch(b.data()), n);
                }
            }
        }
    }

    private static Path write(Path dir, String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = Files.createTempFile(dir, "t", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    @Test
    void truncatedFileIsRefused(@TempDir Path dir) throws Exception {
        byte[] all = Files.readAllBytes(TestData.tinyFixture().resolve("model.safetensors"));
        for (int cut : new int[]{all.length - 1, all.length / 2, 5000, 7}) {
            Path p = dir.resolve("cut" + cut + ".safetensors");
            Files.write(p, java.util.Arrays.copyOf(all, cut));
            Owl2jException e = assertThrows(Owl2jException.class, () -> SafetensorsFile.open(p));
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void quantizedBlockTensorsOfOurOwnFilesAreAccepted(@TempDir Path dir) throws Exception {
        // Q8_0: logical shape [2, 64] = 4 blocks of 34 bytes
        java.lang.foreign.MemorySegment raw = java.lang.foreign.MemorySegment.ofArray(new byte[4 * 34]);
        Path p = dir.resolve("q.safetensors");
        SafetensorsWriter.write(p, java.util.List.of(new Tensor("w", DType.Q8_0, new long[]{2, 64}, raw),
                new Tensor("v", DType.Q4_0, new long[]{1, 32}, java.lang.foreign.MemorySegment.ofArray(new byte[18]))), null);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(DType.Q8_0, f.get("w").dtype());
            assertArrayEquals(new long[]{2, 64}, f.get("w").shape());
            assertEquals(136, f.get("w").data().byteSize());
            assertEquals(DType.Q4_0, f.get("v").dtype());
        }
        Path bad = write(dir, "{\"a\":{\"dtype\":\"Q8_0\",\"shape\":[2,60],\"data_offsets\":[0,136]}}", 136);
        assertTrue(assertThrows(Owl2jException.class, () -> SafetensorsFile.open(bad)).getMessage().contains("block size"));
    }

    @Test
    void shardedIndexErrorsNameTheProblem(@TempDir Path dir) throws Exception {
        Path st = TestData.tinyFixture().resolve("model.safetensors").toAbsolutePath();
        Files.createSymbolicLink(dir.resolve("a.safetensors"), st);
        Path idx = dir.resolve("model.safetensors.index.json");
        Files.writeString(idx, "{\"weight_map\": {\"lm_head.weight\": \"b.safetensors\"}}");
        assertTrue(assertThrows(Owl2jException.class, () -> ShardedTensorSource.open(idx)).getMessage().contains("shard b.safetensors is missing"));
        Files.writeString(idx, "{\"weight_map\": {\"nope\": \"a.safetensors\"}}");
        assertTrue(assertThrows(Owl2jException.class, () -> ShardedTensorSource.open(idx)).getMessage().contains("tensor nope is listed in a.safetensors"));
        Files.writeString(idx, "{\"weight_map\": {\"lm_head.weight\": \"a.safetensors\"}}");
        assertTrue(assertThrows(Owl2jException.class, () -> ShardedTensorSource.open(idx)).getMessage().contains("does not list"));
        Files.writeString(idx, "{\"weight_map\": {\"lm_head.weight\": \"../a.safetensors\"}}");
        assertTrue(assertThrows(Owl2jException.class, () -> ShardedTensorSource.open(idx)).getMessage().contains("invalid shard file"));
        Files.writeString(idx, "{\"weight_map\": ");
        assertTrue(assertThrows(Owl2jException.class, () -> ShardedTensorSource.open(idx)).getMessage().contains("not valid JSON"));
    }
}
