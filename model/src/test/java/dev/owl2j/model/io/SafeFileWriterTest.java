package dev.owl2j.model.io;

import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every way a write could go somewhere it should not: each test names what is at the target (or at a temporary
 * name) and checks that it is refused or not followed, that nothing else changed, and that nothing is left behind.
 */
class SafeFileWriterTest {
    @TempDir
    Path dir;

    @AfterEach
    void restoreNames() {
        SafeFileWriter.names = defaultNames;
    }

    private static final java.util.function.Supplier<String> defaultNames = SafeFileWriter.names;

    private static final byte[] DATA = "new content".getBytes(StandardCharsets.UTF_8);

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static boolean isOther(Path p) throws IOException {
        return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther();
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** mkfifo/mknod from coreutils; the test is skipped, with the reason printed, where they do not work. */
    private static void make(String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            System.out.println("[SafeFileWriterTest] skipped: " + command[0] + " is not available");
            Assumptions.abort(command[0] + " is not available");
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            System.out.println("[SafeFileWriterTest] skipped: " + String.join(" ", command) + " failed: " + out.strip());
            Assumptions.abort(String.join(" ", command) + " failed: " + out.strip());
        }
    }

    @Test
    void writesANewFile() throws IOException {
        Path target = dir.resolve("out.bin");
        SafeFileWriter.write(target, DATA);
        assertArrayEquals(DATA, Files.readAllBytes(target));
        assertEquals(List.of("out.bin"), listing());
    }

    @Test
    void replacesAnExistingRegularFileWhole() throws IOException {
        Path target = dir.resolve("out.bin");
        Files.writeString(target, "an older and longer content than the new one");
        SafeFileWriter.write(target, DATA);
        assertArrayEquals(DATA, Files.readAllBytes(target));
        assertEquals(List.of("out.bin"), listing());
    }

    @Test
    void refusesADirectory() throws IOException {
        Path target = Files.createDirectory(dir.resolve("out"));
        Files.writeString(target.resolve("inside"), "kept");
        Owl2jException e = assertThrows(Owl2jException.class, () -> SafeFileWriter.write(target, DATA));
        assertTrue(e.getMessage().contains("is a directory, not a regular file"), e.getMessage());
        assertEquals("kept", Files.readString(target.resolve("inside")));
        assertEquals(List.of("out"), listing());
    }

    @Test
    void refusesAFifoWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("pipe");
        make("mkfifo", fifo.toString());
        Owl2jException e = assertThrows(Owl2jException.class, () -> SafeFileWriter.write(fifo, DATA));
        assertTrue(e.getMessage().contains("a device, FIFO or socket"), e.getMessage());
        assertTrue(isOther(fifo), "the FIFO is still there");
        assertEquals(List.of("pipe"), listing());
    }

    @Test
    void refusesADeviceNode() throws Exception {
        if (!isRoot()) {
            System.out.println("[SafeFileWriterTest] device node case skipped: only root may create a device node (mknod)");
            Assumptions.abort("only root may create a device node");
        }
        Path dev = dir.resolve("full");
        make("mknod", dev.toString(), "c", "1", "7"); // the same device as /dev/full, made here so nothing real is at risk
        Owl2jException e = assertThrows(Owl2jException.class, () -> SafeFileWriter.write(dev, DATA));
        assertTrue(e.getMessage().contains("a device, FIFO or socket"), e.getMessage());
        assertTrue(isOther(dev), "the device node is still a device node");
        assertEquals(List.of("full"), listing());
    }

    @Test
    void refusesASymbolicLinkAndLeavesWhatItPointsTo() throws IOException {
        Path victim = Files.writeString(dir.resolve("victim"), "precious");
        Path link = Files.createSymbolicLink(dir.resolve("out.bin"), victim);
        Owl2jException e = assertThrows(Owl2jException.class, () -> SafeFileWriter.write(link, DATA));
        assertTrue(e.getMessage().contains("a symbolic link"), e.getMessage());
        assertEquals("precious", Files.readString(victim));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(List.of("out.bin", "victim"), listing());
    }

    @Test
    void refusesADanglingSymbolicLink() throws IOException {
        Path link = Files.createSymbolicLink(dir.resolve("out.bin"), dir.resolve("would-be-created"));
        assertThrows(Owl2jException.class, () -> SafeFileWriter.write(link, DATA));
        assertFalse(Files.exists(dir.resolve("would-be-created"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aLinkPlantedAtTheTemporaryNameIsNeverFollowed() throws IOException {
        Path victim = Files.writeString(dir.resolve("victim"), "precious");
        // the first names the writer draws are taken by links to the victim; it must go on to a free name
        Deque<String> draws = new ArrayDeque<>(List.of("aaaa", "bbbb", "cccc"));
        Files.createSymbolicLink(dir.resolve(".out.bin.aaaa.tmp"), victim);
        Files.createSymbolicLink(dir.resolve(".out.bin.bbbb.tmp"), dir.resolve("dangling"));
        SafeFileWriter.names = draws::removeFirst;
        SafeFileWriter.write(dir.resolve("out.bin"), DATA);
        assertEquals("precious", Files.readString(victim));
        assertFalse(Files.exists(dir.resolve("dangling"), LinkOption.NOFOLLOW_LINKS));
        assertArrayEquals(DATA, Files.readAllBytes(dir.resolve("out.bin")));
        assertEquals(List.of(".out.bin.aaaa.tmp", ".out.bin.bbbb.tmp", "out.bin", "victim"), listing());
    }

    @Test
    void linksAtTheOldPredictableNamesAreIgnored() throws IOException {
        Path victim = Files.writeString(dir.resolve("victim"), "precious");
        for (String name : new String[]{"out.bin.partial", "out.bin.part", "out.bin.tmp", ".out.bin.tmp"}) {
            Files.createSymbolicLink(dir.resolve(name), victim);
        }
        SafeFileWriter.write(dir.resolve("out.bin"), DATA);
        assertEquals("precious", Files.readString(victim));
        assertArrayEquals(DATA, Files.readAllBytes(dir.resolve("out.bin")));
    }

    @Test
    void neverCreatesAMissingParent() {
        for (Path target : new Path[]{dir.resolve("missing/out.bin"), dir.resolve("a/b/c/out.bin")}) {
            Owl2jException e = assertThrows(Owl2jException.class, () -> SafeFileWriter.write(target, DATA));
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("missing")));
        assertFalse(Files.exists(dir.resolve("a")));
    }

    @Test
    void refusesAParentThatIsAFile() throws IOException {
        Files.writeString(dir.resolve("file"), "x");
        Owl2jException e = assertThrows(Owl2jException.class, () -> SafeFileWriter.write(dir.resolve("file/out.bin"), DATA));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }

    @Test
    void aReadOnlyDirectoryIsAOneLineErrorAndKeepsItsFile() throws IOException {
        if (isRoot()) {
            System.out.println("[SafeFileWriterTest] read-only directory case skipped: root writes into read-only directories");
            Assumptions.abort("root ignores directory permissions");
        }
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Files.writeString(ro.resolve("out.bin"), "old");
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            Owl2jException e = assertThrows(Owl2jException.class, () -> SafeFileWriter.write(ro.resolve("out.bin"), DATA));
            assertTrue(e.getMessage().endsWith("permission denied"), e.getMessage());
            assertEquals("old", Files.readString(ro.resolve("out.bin")));
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void aFailedWriteLeavesNothingBehindAndTheOldFileWhole() throws IOException {
        Path target = Files.writeString(dir.resolve("out.bin"), "old");
        RuntimeException boom = assertThrows(RuntimeException.class, () -> {
            try (SafeFileWriter w = SafeFileWriter.create(target)) {
                w.write(DATA);
                throw new IllegalStateException("the producer failed halfway");
            }
        });
        assertEquals("the producer failed halfway", boom.getMessage());
        assertEquals("old", Files.readString(target));
        assertEquals(List.of("out.bin"), listing());
    }

    @Test
    void aTargetThatTurnsIntoADirectoryBeforeCommitIsNotReplaced() throws IOException {
        Path target = dir.resolve("out.bin");
        try (SafeFileWriter w = SafeFileWriter.create(target)) {
            w.write(DATA);
            Files.createDirectory(target);
            assertThrows(Owl2jException.class, w::commit);
        }
        assertTrue(Files.isDirectory(target));
        assertEquals(List.of("out.bin"), listing());
    }

    @Test
    void scratchFilesAreAlwaysDeleted() throws IOException {
        try (SafeFileWriter s = SafeFileWriter.scratch(dir)) {
            s.write(DATA);
            assertEquals(1, listing().size());
            assertThrows(IllegalStateException.class, s::commit);
        }
        assertEquals(List.of(), listing());
    }

    @Test
    void ensureDirectoryCreatesOnlyTheLastFolder() throws IOException {
        SafeFileWriter.ensureDirectory(dir.resolve("out"));
        assertTrue(Files.isDirectory(dir.resolve("out")));
        SafeFileWriter.ensureDirectory(dir.resolve("out")); // an existing one is fine
        assertThrows(Owl2jException.class, () -> SafeFileWriter.ensureDirectory(dir.resolve("x/y")));
        assertFalse(Files.exists(dir.resolve("x")));
        Files.writeString(dir.resolve("file"), "x");
        assertThrows(Owl2jException.class, () -> SafeFileWriter.ensureDirectory(dir.resolve("file")));
    }

    @Test
    void copyGoesThroughTheSameChecks() throws IOException {
        Path source = Files.writeString(dir.resolve("source"), "copied");
        SafeFileWriter.copy(source, dir.resolve("copy"));
        assertEquals("copied", Files.readString(dir.resolve("copy")));
        Path victim = Files.writeString(dir.resolve("victim"), "precious");
        Path link = Files.createSymbolicLink(dir.resolve("link"), victim);
        assertThrows(Owl2jException.class, () -> SafeFileWriter.copy(source, link));
        assertEquals("precious", Files.readString(victim));
    }
}
