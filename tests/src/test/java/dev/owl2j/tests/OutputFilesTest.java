package dev.owl2j.tests;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The files the commands write ({@code --dump-logits}, {@code preprocess --out}, {@code convert --out}) go through
 * one safe writer: a bad target is a one-line error before any model loads, and nothing is created or changed.
 * (The writer's every case is in model's SafeFileWriterTest; this checks that each command uses it.)
 */
class OutputFilesTest {
    static Path home;
    static String previous;

    @BeforeAll
    static void isolateCache() throws Exception {
        home = Files.createTempDirectory("owl2j-home");
        previous = System.getProperty("owl2j.cacheHome");
        System.setProperty("owl2j.cacheHome", home.toString());
    }

    @AfterAll
    static void restore() {
        if (previous == null) System.clearProperty("owl2j.cacheHome");
        else System.setProperty("owl2j.cacheHome", previous);
    }

    static void assertRefused(Cli.Result r, String fragment) {
        assertEquals(1, r.exitCode(), r.out() + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("owl2j: ") && err.contains(fragment), err);
        assertFalse(err.contains("embedded default"), "refused before a model loads: " + err);
    }

    private static List<String> listing(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static Cli.Result dumpLogits(Path target) {
        return Cli.run("run", "--backend", "cpu", "--prompt", "hi", "--max-new-tokens", "1", "--dump-logits", target.toString());
    }

    private static Cli.Result preprocess(Path target) {
        return Cli.run("preprocess", "--image", Cli.fixture().resolve("image0.png").toString(), "--out", target.toString());
    }

    @Test
    void aDirectoryIsNeverReplaced(@TempDir Path tmp) throws Exception {
        Path d = Files.createDirectory(tmp.resolve("target"));
        assertRefused(dumpLogits(d), "is a directory, not a regular file");
        assertRefused(preprocess(d), "is a directory, not a regular file");
        assertTrue(Files.isDirectory(d));
    }

    @Test
    void aSymbolicLinkIsNotFollowed(@TempDir Path tmp) throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim"), "precious");
        Path link = Files.createSymbolicLink(tmp.resolve("out.safetensors"), victim);
        assertRefused(dumpLogits(link), "a symbolic link");
        assertRefused(preprocess(link), "a symbolic link");
        assertEquals("precious", Files.readString(victim));
    }

    @Test
    void aFifoIsRefusedWithoutBlocking(@TempDir Path tmp) throws Exception {
        Path fifo = tmp.resolve("pipe");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        if (p.waitFor() != 0) {
            System.out.println("[OutputFilesTest] FIFO case skipped: mkfifo failed");
            org.junit.jupiter.api.Assumptions.abort("mkfifo failed");
        }
        assertRefused(dumpLogits(fifo), "a device, FIFO or socket");
        assertRefused(preprocess(fifo), "a device, FIFO or socket");
    }

    @Test
    void aCharacterDeviceIsRefused() {
        // /dev/null exists everywhere; refused by the check alone, so it is never touched
        assertRefused(dumpLogits(Path.of("/dev/null")), "a device, FIFO or socket");
        assertRefused(preprocess(Path.of("/dev/null")), "a device, FIFO or socket");
        assertTrue(Files.exists(Path.of("/dev/null")) && !Files.isRegularFile(Path.of("/dev/null")));
    }

    @Test
    void aMissingParentIsAnErrorAndIsNotCreated(@TempDir Path tmp) throws Exception {
        assertRefused(dumpLogits(tmp.resolve("no/such/dir/l.safetensors")), "does not exist");
        assertRefused(preprocess(tmp.resolve("no/p.safetensors")), "does not exist");
        assertRefused(Cli.run("convert", "--out", tmp.resolve("no/such/out").toString()), "does not exist");
        assertEquals(List.of(), listing(tmp));
    }

    @Test
    void convertRefusesAnOutThatIsAFile(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("out"), "x");
        assertRefused(Cli.run("convert", "--out", file.toString()), "exists and is not a directory");
        assertEquals("x", Files.readString(file));
    }

    @Test
    void aSuccessfulWriteLeavesOnlyTheTarget(@TempDir Path tmp) throws Exception {
        Files.createSymbolicLink(tmp.resolve("p.safetensors.partial"), tmp.resolve("planted"));
        Cli.Result r = preprocess(tmp.resolve("p.safetensors"));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(List.of("p.safetensors", "p.safetensors.partial"), listing(tmp));
        assertFalse(Files.exists(tmp.resolve("planted")), "the link at the old temporary name was not followed");
    }
}
