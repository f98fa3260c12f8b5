package dev.owl2j.model.format;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** torch.save files written by real PyTorch 1.13 (scripts/goldens/make_torch_fixtures.py); goldens are torch's own contiguous copies. */
class TorchZipCheckpointTest {
    private static Path dir() {
        return TestData.root().resolve("torch-bin");
    }

    @Test
    void everyCaseEqualsTorchsContiguousCopyBitForBit() {
        try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(dir().resolve("cases.bin"));
             SafetensorsFile expected = SafetensorsFile.open(dir().resolve("cases.expected.safetensors"))) {
            assertEquals(expected.names(), ck.names());
            for (String n : expected.names()) {
                Tensor a = ck.get(n), e = expected.get(n);
                assertEquals(e.dtype(), a.dtype(), n);
                assertArrayEquals(e.shape(), a.shape(), n);
                assertEquals(-1L, e.data().mismatch(a.data()), n);
            }
            assertEquals(DType.F16, ck.get("f16").dtype());
            assertEquals(DType.BF16, ck.get("bf16").dtype());
            assertEquals(DType.F32, ck.get("f32").dtype());
            assertEquals(DType.I64, ck.get("i64").dtype());
            assertEquals(0, ck.get("scalar").rank());
        }
    }

    @Test
    void offsetsStridesAndSharedStorageAreHonoured() {
        try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(dir().resolve("cases.bin"))) {
            var refs = ck.tensorRefs();
            assertFalse(refs.get("transposed").isContiguous());
            assertFalse(refs.get("slice").isContiguous());
            assertEquals(15, refs.get("slice").offset());
            assertTrue(refs.get("row_slice").isContiguous());
            assertEquals(21, refs.get("row_slice").offset());
            // shared storage: the contiguous slice is a zero-copy view 21 elements into the base tensor's bytes
            Tensor base = ck.get("shared_a"), rows = ck.get("row_slice");
            assertEquals(base.data().address() + 21 * 2, rows.data().address());
            assertEquals(refs.get("shared_a").storage(), refs.get("transposed").storage());
        }
    }

    @Test
    void maliciousPickleIsRefusedAndNeverRuns() throws Exception {
        Path marker = Path.of("/tmp/owl2j-pwned-formats-test");
        Files.deleteIfExists(marker);
        Owl2jException e = assertThrows(Owl2jException.class, () -> TorchZipCheckpoint.open(dir().resolve("malicious.bin")));
        assertEquals("checkpoint malicious.bin: refusing to load pickle global posix.system", e.getMessage());
        assertFalse(Files.exists(marker));
    }

    @Test
    void legacyFormatAndTruncatedArchivesAreRefused(@TempDir Path tmp) throws Exception {
        Owl2jException legacy = assertThrows(Owl2jException.class, () -> TorchZipCheckpoint.open(dir().resolve("legacy.bin")));
        assertTrue(legacy.getMessage().contains("legacy"), legacy.getMessage());
        byte[] all = Files.readAllBytes(dir().resolve("cases.bin"));
        for (int cut : new int[]{all.length - 10, all.length / 2, 100}) {
            Path t = tmp.resolve("cut" + cut + ".bin");
            Files.write(t, java.util.Arrays.copyOf(all, cut));
            Owl2jException e = assertThrows(Owl2jException.class, () -> TorchZipCheckpoint.open(t));
            assertTrue(e.getMessage().startsWith("checkpoint cut" + cut + ".bin: "), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        Path text = tmp.resolve("text.bin");
        Files.writeString(text, "hello");
        assertTrue(assertThrows(Owl2jException.class, () -> TorchZipCheckpoint.open(text)).getMessage().contains("not a torch.save"));
    }

    @Test
    void handBuiltPicklesOutsideTheSubsetAreRefused() {
        // GLOBAL builtins eval: refused at the GLOBAL opcode, before any REDUCE
        assertRefused(pickle("\u0080\u0002cbuiltins\neval\n)R."), "refusing to load pickle global builtins.eval");
        // _load_from_bytes (how torch pickles storages outside zip files) is not on the list either
        assertRefused(pickle("\u0080\u0002ctorch.storage\n_load_from_bytes\n)R."), "refusing to load pickle global torch.storage._load_from_bytes");
        // calling a storage class
        assertRefused(pickle("\u0080\u0002ctorch\nFloatStorage\n)R."), "refusing to call pickle global torch.FloatStorage");
        // unknown opcode (protocol 5 NEXT_BUFFER)
        assertRefused(pickle("\u0080\u0002\u0097."), "unsupported pickle opcode 0x97");
        // truncated
        assertRefused(pickle("\u0080\u0002}q"), "truncated");
        // not a dict
        assertRefused(pickle("\u0080\u0002K\u0001."), "does not hold a state_dict");
    }

    @Test
    void rebuildTensorArgumentsAreParsedWithoutTorch() {
        // {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 4), 2, (3,), (1,), False, None)}
        String p = "\u0080\u0002}X\u0001\u0000\u0000\u0000wctorch._utils\n_rebuild_tensor_v2\n"
                + "((X\u0007\u0000\u0000\u0000storagectorch\nFloatStorage\nX\u0001\u0000\u0000\u00000X\u0003\u0000\u0000\u0000cpuK\u0004tQ"
                + "K\u0002K\u0003\u0085K\u0001\u0085\u0089Ntqd";
        // (validated by TorchZipCheckpoint, whose bounds check needs the storage; here the pickle alone parses)
        var refs = SafePickleReader.readStateDict(pickle(p.replace("tqd", "tRs.")), "test");
        assertEquals(2, refs.get("w").offset());
        assertArrayEquals(new long[]{3}, refs.get("w").shape());
    }

    @Test
    void shardedBinCopyOfTheFixtureIsBitIdenticalToItsSafetensors() {
        Path bin = TestData.root().resolve("tiny-owl2-bin/pytorch_model.bin.index.json");
        try (ShardedTensorSource s = ShardedTensorSource.open(bin);
             SafetensorsFile st = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"))) {
            assertEquals("pytorch .bin (2 shards)", s.formatName());
            Set<String> expectedNames = new HashSet<>(st.names());
            expectedNames.removeIf(n -> n.endsWith("_pos_embed")); // like the release, the .bin copy omits them
            assertEquals(expectedNames, new HashSet<>(s.names()));
            for (String n : s.names()) {
                Tensor a = s.get(n), e = st.get(n);
                assertEquals(e.dtype(), a.dtype(), n);
                assertArrayEquals(e.shape(), a.shape(), n);
                assertEquals(-1L, e.data().mismatch(a.data()), n);
            }
        }
    }

    /** {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 4), offset, (n,), (1,), False, None)} */
    private static byte[] onePickle(int offset, int n) {
        return pickle("\u0080\u0002}X\u0001\u0000\u0000\u0000wctorch._utils\n_rebuild_tensor_v2\n"
                + "((X\u0007\u0000\u0000\u0000storagectorch\nFloatStorage\nX\u0001\u0000\u0000\u00000X\u0003\u0000\u0000\u0000cpuK\u0004tQ"
                + "K" + (char) offset + "K" + (char) n + "\u0085K\u0001\u0085\u0089NtRs.");
    }

    private static Path zipOf(Path file, byte[] pkl, byte[] storage, boolean deflateStorage) throws Exception {
        try (var zos = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
            java.util.zip.ZipEntry p = new java.util.zip.ZipEntry("archive/data.pkl");
            zos.putNextEntry(p);
            zos.write(pkl);
            zos.closeEntry();
            java.util.zip.ZipEntry d = new java.util.zip.ZipEntry("archive/data/0");
            if (!deflateStorage) {
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                crc.update(storage);
                d.setMethod(java.util.zip.ZipEntry.STORED);
                d.setSize(storage.length);
                d.setCompressedSize(storage.length);
                d.setCrc(crc.getValue());
            }
            zos.putNextEntry(d);
            zos.write(storage);
            zos.closeEntry();
        }
        return file;
    }

    @Test
    void storageBoundsAreCheckedAndDeflatedStoragesAreRead(@TempDir Path tmp) throws Exception {
        byte[] storage = new byte[16];
        java.nio.ByteBuffer.wrap(storage).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(2f).putFloat(3f).putFloat(4f);
        for (boolean deflate : new boolean[]{false, true}) {
            try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(zipOf(tmp.resolve("ok" + deflate + ".bin"), onePickle(1, 3), storage, deflate))) {
                assertArrayEquals(new float[]{2f, 3f, 4f}, ck.get("w").toFloatArray());
            }
        }
        Path over = zipOf(tmp.resolve("over.bin"), onePickle(2, 3), storage, false);
        Owl2jException e = assertThrows(Owl2jException.class, () -> TorchZipCheckpoint.open(over));
        assertTrue(e.getMessage().contains("tensor w") && e.getMessage().contains("reaches element 4 of a storage of 4"), e.getMessage());
        Path small = zipOf(tmp.resolve("small.bin"), onePickle(0, 3), new byte[12], false);
        e = assertThrows(Owl2jException.class, () -> TorchZipCheckpoint.open(small));
        assertTrue(e.getMessage().contains("holds 12 bytes but its 4 F32 elements need 16"), e.getMessage());
    }

    /** Fuzzing finding: a second tensor describing the same storage as larger read past the bytes checked for the first. */
    @Test
    void aStorageDescribedTwiceWithAnotherSizeIsRefused(@TempDir Path tmp) throws Exception {
        for (int[] sizes : new int[][]{{4, 8}, {8, 4}}) {
            byte[] pkl = Pickles.proto2().op('}').op('(')
                    .str("a").tensor(sizes[0], 0, new int[]{sizes[0]}, new int[]{1})
                    .str("b").tensor(sizes[1], 0, new int[]{sizes[1]}, new int[]{1})
                    .op('u').op('.').bytes();
            Path file = Pickles.zip(tmp.resolve("twice" + sizes[0] + ".bin"), pkl, false, new byte[16], false);
            Owl2jException e = assertThrows(Owl2jException.class, () -> TorchZipCheckpoint.open(file));
            assertTrue(e.getMessage().contains("storage 0 is declared as 4 F32 elements and, by tensor b, as 8 F32")
                    || e.getMessage().contains("holds 16 bytes but its 8 F32 elements need 32"), e.getMessage());
        }
        // the same description twice (tied weights) stays fine
        byte[] tied = Pickles.proto2().op('}').op('(')
                .str("a").tensor(4, 0, new int[]{4}, new int[]{1})
                .str("b").tensor(4, 2, new int[]{2}, new int[]{1})
                .op('u').op('.').bytes();
        byte[] storage = new byte[16];
        java.nio.ByteBuffer.wrap(storage).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(2f).putFloat(3f).putFloat(4f);
        try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(Pickles.zip(tmp.resolve("tied.bin"), tied, false, storage, false))) {
            assertArrayEquals(new float[]{1f, 2f, 3f, 4f}, ck.get("a").toFloatArray());
            assertArrayEquals(new float[]{3f, 4f}, ck.get("b").toFloatArray());
        }
    }

    private static byte[] pickle(String latin1) {
        return latin1.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static void assertRefused(byte[] pickle, String fragment) {
        Owl2jException e = assertThrows(Owl2jException.class, () -> SafePickleReader.readStateDict(pickle, "checkpoint x.bin"));
        assertTrue(e.getMessage().startsWith("checkpoint x.bin: ") && e.getMessage().contains(fragment), e.getMessage());
    }
}
