package dev.owl2j.model.format;

import dev.owl2j.model.UserErrors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Hostile pickles, zips and safetensors headers (docs/security.md, Checkpoints): each class of attack is tried in
 * several forms, and each must end in one Owl2jException of one line, never another exception or error.
 */
class HostileCheckpointTest {
    private static final int DEEP = 2_000_000;

    private static String refused(Executable e, String fragment) {
        return UserErrors.assertRefused(e, fragment);
    }

    private static void pickleRefused(byte[] pickle, String fragment) {
        refused(() -> SafePickleReader.readStateDict(pickle, "checkpoint x.bin"), fragment);
    }

    @Test
    void selfReferencingStructuresAreRefused() {
        String msg = "self-referencing";
        // a list appended to itself (l = []; l.append(l))
        pickleRefused(Pickles.proto2().op(']').op('q').raw(0).op('h').raw(0).op('a').op('.').bytes(), msg);
        // a dict holding itself as a value
        pickleRefused(Pickles.proto2().op('}').op('q').raw(0).str("k").op('h').raw(0).op('s').op('.').bytes(), msg);
        // a list placed in a tuple, then changed through the memo: the tuple would hold a cycle
        pickleRefused(Pickles.proto2().op(']').op('q').raw(0).raw(0x85).op('h').raw(0).op('K').raw(1).op('a').op('.').bytes(), msg);
        // two dicts holding each other (a = {}; b = {'a': a}; a['b'] = b)
        pickleRefused(Pickles.proto2().op('}').op('q').raw(0).op('}').str("a").op('h').raw(0).op('s').op('q').raw(1)
                .op('h').raw(0).str("b").op('h').raw(1).op('s').op('.').bytes(), msg);
        // SETITEMS with a batch that includes the dict itself
        pickleRefused(Pickles.proto2().op('}').op('q').raw(0).op('(').str("k").op('h').raw(0).op('u').op('.').bytes(), msg);
    }

    @Test
    void deepStructuresAreRefusedAtTheDepthLimit() {
        String msg = "nests containers more than " + SafePickleReader.MAX_DEPTH + " deep";
        // half a million empty lists, each appended to the one below it
        pickleRefused(Pickles.proto2().repeat(']', DEEP / 4).repeat('a', DEEP / 4 - 1).op('.').bytes(), msg);
        // 2 million nested one-tuples
        pickleRefused(Pickles.proto2().op(')').repeat((char) 0x85, DEEP).op('.').bytes(), msg);
        // 2 million MARKs closed by TUPLE
        pickleRefused(Pickles.proto2().repeat('(', DEEP / 4).repeat('t', DEEP / 4).op('.').bytes(), msg);
        // nested dicts by SETITEM
        Pickles p = Pickles.proto2();
        for (int i = 0; i < 200; i++) p.op('}').str("k");
        p.op('}');
        for (int i = 0; i < 200; i++) p.op('s');
        pickleRefused(p.op('.').bytes(), msg);
    }

    @Test
    void valueAndMemoCountsAreBounded() {
        String msg = "more than " + SafePickleReader.MAX_ITEMS + " values";
        pickleRefused(Pickles.proto2().repeat('N', DEEP).op('.').bytes(), msg);
        // 2 million lists meant to nest (refused by count before any depth is reached)
        pickleRefused(Pickles.proto2().repeat(']', DEEP).repeat('a', DEEP - 1).op('.').bytes(), msg);
        pickleRefused(Pickles.proto2().repeat('(', DEEP).op('.').bytes(), msg);
        // one value memoized millions of times (MEMOIZE)
        pickleRefused(Pickles.proto2().op('N').repeat((char) 0x94, DEEP).op('.').bytes(), msg);
        // a list fed by millions of memo fetches
        Pickles p = Pickles.proto2().op('N').op('q').raw(0).op(']').op('(');
        for (int i = 0; i < DEEP / 2; i++) p.op('h').raw(0);
        pickleRefused(p.op('e').op('.').bytes(), msg);
    }

    /** Fuzzing finding: a GLOBAL name holding control characters made the refusal several lines long. */
    @Test
    void namesFromThePickleAreEscapedInErrors() {
        String m = refused(() -> SafePickleReader.readStateDict(Pickles.proto2().global("torc\r\u0000h", "x\u0085y").op('.').bytes(), "x"),
                "refusing to load pickle global torc\\x0d\\x00h.x\\x85y");
        assertFalse(m.contains("\r"), m);
        refused(() -> SafePickleReader.readStateDict(Pickles.proto2().op('}').str("k\n").op(')').op('s').op('.').bytes(), "x"),
                "k\\x0a is a tuple of 0, not a tensor");
    }

    @Test
    void onlyStringKeysAreAccepted() {
        String msg = "only string keys";
        pickleRefused(Pickles.proto2().op('}').op('K').raw(1).op('K').raw(2).op('s').op('.').bytes(), msg);
        pickleRefused(Pickles.proto2().op('}').op(')').op('K').raw(2).op('s').op('.').bytes(), msg);
        pickleRefused(Pickles.proto2().op('}').op('(').op(']').op('K').raw(2).op('u').op('.').bytes(), msg);
        pickleRefused(Pickles.proto2().op('}').op('N').op('N').op('s').op('.').bytes(), msg);
        // a state_dict value that is not a tensor names the key, escaped, on one line
        String m = refused(() -> SafePickleReader.readStateDict(
                Pickles.proto2().op('}').str("a\nb").op('K').raw(2).op('s').op('.').bytes(), "x"), "not a tensor");
        assertTrue(m.contains("a\\x0ab"), m);
    }

    @Test
    void overlappingAndStrideZeroViewsAreRefused(@TempDir Path tmp) throws Exception {
        byte[] storage = new byte[4 * 16];
        String msg = "overlapping view";
        int[][][] views = {
                {{200}, {0}},            // one element repeated 200 times (an expanded tensor)
                {{4, 4}, {0, 1}},        // rows all the same
                {{3, 3}, {1, 1}},        // diagonally overlapping
                {{2, 8}, {4, 1}},        // rows overlapping by half
                {{2, 2, 2}, {2, 1, 1}},
        };
        for (int i = 0; i < views.length; i++) {
            int[] size = views[i][0], stride = views[i][1];
            Path f = Pickles.zip(tmp.resolve("v" + i + ".bin"), Pickles.stateDict(16, 0, size, stride), false, storage, false);
            refused(() -> TorchZipCheckpoint.open(f), msg);
        }
        // permutations and slices are views that never revisit an element: read as before
        int[][][] fine = {{{4, 4}, {1, 4}}, {{2, 2}, {8, 1}}, {{2, 2, 2}, {1, 2, 4}}, {{1, 5}, {0, 1}}, {{3}, {5}}};
        for (int i = 0; i < fine.length; i++) {
            Path f = Pickles.zip(tmp.resolve("ok" + i + ".bin"), Pickles.stateDict(16, 0, fine[i][0], fine[i][1]), false, storage, false);
            try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(f)) {
                assertNotNull(ck.get("w"));
            }
        }
    }

    @Test
    void zipBombsAreRefusedBeforeInflating(@TempDir Path tmp) throws Exception {
        String ratio = MAX_RATIO_TEXT;
        // a 250 MB data.pkl of one repeated byte compresses to about 250 kB: refused from the central directory
        byte[] big = new byte[250 << 20];
        Path pkl = Pickles.zip(tmp.resolve("pkl.bin"), big, true, null, false);
        big = null;
        assertTrue(Files.size(pkl) < 1 << 20);
        refused(() -> TorchZipCheckpoint.open(pkl), ratio);
        // a deflated storage claiming 1000:1
        Path st = Pickles.zip(tmp.resolve("st.bin"), Pickles.stateDict(16, 0, new int[]{16}, new int[]{1}), false,
                new byte[4 << 20], true);
        refused(() -> TorchZipCheckpoint.open(st), ratio);
        // a stored data.pkl over the size limit
        Path stored = Pickles.zip(tmp.resolve("stored.bin"), new byte[(int) TorchZipCheckpoint.MAX_PICKLE_BYTES + 1], false, null, false);
        refused(() -> TorchZipCheckpoint.open(stored), "over the limit of " + TorchZipCheckpoint.MAX_PICKLE_BYTES);
    }

    private static final String MAX_RATIO_TEXT = TorchZipCheckpoint.MAX_INFLATE_RATIO + ":1 limit";

    @Test
    void declaredSizesAreEnforcedWhileInflating(@TempDir Path tmp) throws Exception {
        byte[] pkl = Pickles.stateDict(16, 0, new int[]{16}, new int[]{1});
        Path ok = Pickles.zip(tmp.resolve("ok.bin"), pkl, true, new byte[64], false);
        try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(ok)) {
            assertEquals(16, ck.get("w").numel());
        }
        // the central directory understates data.pkl's size: inflating stops at the declared size
        Path lie = tmp.resolve("lie.bin");
        Files.write(lie, patchCentralSize(Files.readAllBytes(ok), "archive/data.pkl", pkl.length - 5));
        refused(() -> TorchZipCheckpoint.open(lie), "inflates past its declared size");
        Path more = tmp.resolve("more.bin");
        Files.write(more, patchCentralSize(Files.readAllBytes(ok), "archive/data.pkl", pkl.length + 5));
        refused(() -> TorchZipCheckpoint.open(more), "truncated");
    }

    @Test
    void compressedStoragesAreInflatedOnlyWhenRead(@TempDir Path tmp) throws Exception {
        byte[] pkl = Pickles.stateDict(16, 0, new int[]{16}, new int[]{1});
        byte[] storage = new byte[64];
        storage[0] = 1;
        Path good = Pickles.zip(tmp.resolve("good.bin"), pkl, false, storage, true);
        // corrupt the deflated storage's bytes: open, names and info never inflate it, get does and says so
        byte[] all = Files.readAllBytes(good);
        int at = indexOf(all, "archive/data/0".getBytes(StandardCharsets.US_ASCII)) + "archive/data/0".length();
        for (int i = 0; i < 4; i++) all[at + i] = (byte) 0xff;
        Path bad = tmp.resolve("bad.bin");
        Files.write(bad, all);
        try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(bad)) {
            assertEquals(java.util.Set.of("w"), ck.names());
            assertArrayEquals(new long[]{16}, ck.info("w").shape());
            refused(() -> ck.get("w"), "checkpoint bad.bin");
        }
        try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(good)) {
            assertEquals(Float.intBitsToFloat(1), ck.get("w").getFloat(0));
        }
    }

    @Test
    void hostileSafetensorsHeadersAreRefused(@TempDir Path tmp) throws Exception {
        String[][] cases = {
                {"[[[[]]]]", "not a JSON object"},
                {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "not a non-negative integer"},
                {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} {}", "after its JSON object"},
                {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} trailing", "not valid JSON"},
                {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "appears twice"},
                {"{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", "not a non-negative integer"},
                {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", "shape overflows"},
                {"{\"a\":{\"dtype\":\"F32\",\"shape\":" + "[".repeat(5000) + "]".repeat(5000) + ",\"data_offsets\":[0,4]}}", ""},
                {"{\"__metadata__\":" + "[".repeat(5000) + "]".repeat(5000) + "}", "not valid JSON"},
                {"{\"a\":{\"dtype\":{\"x\":1},\"shape\":[1],\"data_offsets\":[0,4]}}", "dtype is not a string"},
                {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", "more than 2 entries"},
        };
        for (int i = 0; i < cases.length; i++) {
            Path f = safetensors(tmp.resolve("h" + i + ".safetensors"), cases[i][0], 4);
            refused(() -> SafetensorsFile.open(f), cases[i][1]);
        }
        // a shape of 65 dimensions
        Path rank = safetensors(tmp.resolve("rank.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + "1,".repeat(64) + "1],\"data_offsets\":[0,4]}}", 4);
        refused(() -> SafetensorsFile.open(rank), "more than 64 entries");
    }

    static Path safetensors(Path file, String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Files.write(file, b.array());
        return file;
    }

    /** Sets the uncompressed size of {@code name}'s central directory record. */
    private static byte[] patchCentralSize(byte[] zip, String name, int size) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i + 46 + n.length <= zip.length; i++) {
            if (zip[i] == 0x50 && zip[i + 1] == 0x4b && zip[i + 2] == 1 && zip[i + 3] == 2
                    && java.util.Arrays.equals(zip, i + 46, i + 46 + n.length, n, 0, n.length)) {
                ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN).putInt(i + 24, size);
                return zip;
            }
        }
        throw new IllegalStateException("no central directory record for " + name);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new IllegalStateException("not found");
    }
}
