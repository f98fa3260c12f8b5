package dev.owl2j.model.checkpoint;

import dev.owl2j.model.TestData;
import dev.owl2j.model.UserErrors;
import dev.owl2j.model.format.Pickles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** Bounded memory and no materialisation of unused tensors when a checkpoint is opened (docs/security.md). */
class InspectMemoryTest {
    /**
     * Each hostile directory (weight files under 10 MB built to cost as much as the readers allow) is opened in a
     * child JVM whose heap is 128 MB; every one must be refused with a user error, and the child's peak RSS must
     * stay under 512 MB.
     */
    @Test
    void hostileFilesUnderTenMegabytesStayWithinSmallMemory(@TempDir Path tmp) throws Exception {
        List<Path> dirs = HostileModelDirs.write(tmp, TestData.tinyFixture().resolve("config.json"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:+UseSerialGC", "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), HostileModelDirs.class.getName()));
        dirs.forEach(d -> cmd.add(d.toString()));
        Path out = tmp.resolve("out.txt");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        int rc = p.waitFor();
        String text = Files.readString(out, StandardCharsets.UTF_8);
        System.out.println(text);
        assertEquals(0, rc, text);
        for (Path d : dirs) {
            assertTrue(text.contains(d + " refused: "), d + " was not refused with a user error:\n" + text);
        }
        Matcher m = Pattern.compile("VmHWM: (\\d+) kB").matcher(text);
        assertTrue(m.find(), text);
        long peakKb = Long.parseLong(m.group(1));
        assertTrue(peakKb < 512 * 1024, "peak RSS " + peakKb + " kB\n" + text);
    }

    /**
     * A shard holding a tensor the config does not expect, whose deflated storage is corrupt: opening the model
     * and reporting on it never inflates that storage (it would fail if it did); only reading it does.
     */
    @Test
    void aTensorTheModelDoesNotUseIsNeverMaterialised(@TempDir Path tmp) throws Exception {
        Path bin = TestData.root().resolve("tiny-owl2-bin");
        try (var files = Files.list(bin)) {
            for (Path f : files.toList()) Files.copy(f, tmp.resolve(f.getFileName()));
        }
        byte[] pkl = Pickles.proto2().op('}').str("extra.weight").tensor(16, 0, new int[]{4, 4}, new int[]{1, 4})
                .op('s').op('.').bytes();
        Path extra = Pickles.zip(tmp.resolve("extra.bin"), pkl, false, new byte[64], true);
        byte[] all = Files.readAllBytes(extra);
        byte[] name = "archive/data/0".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(all, name) + name.length;
        for (int i = 0; i < 4; i++) all[at + i] = (byte) 0xff;
        Files.write(extra, all);
        Path index = tmp.resolve("pytorch_model.bin.index.json");
        Files.writeString(index, Files.readString(index).replace("\"weight_map\": {", "\"weight_map\": {\"extra.weight\": \"extra.bin\", "));
        try (ModelCheckpoint mc = ModelCheckpoint.open(tmp)) {
            assertEquals(List.of("extra.weight"), mc.report().unexpected());
            UserErrors.assertRefused(() -> mc.storedTensors().get("extra.weight"), "extra.bin");
        }
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
