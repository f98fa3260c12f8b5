package dev.owl2j.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The {@code owl2j} launcher hides the JVM's incubator warning and nothing else: stderr reaches the user byte for
 * byte, NUL bytes and unfinished lines included, and the exit code is the JVM's. A stand-in {@code java} (a shell
 * script in a fake JAVA_HOME) prints exactly known bytes, so the launcher's filter is all that is tested.
 */
class LauncherTest {
    static Path repoRoot() {
        return Cli.testdata().getParent();
    }

    static byte[][] launch(Path fakeHome, String stderrScript) throws Exception {
        Path bin = Files.createDirectories(fakeHome.resolve("bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/usr/bin/env bash\n"
                + "if [ \"$1\" = -version ]; then echo 'openjdk version \"25\" 2025-09-16' >&2; exit 0; fi\n"
                + stderrScript + "\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb = new ProcessBuilder("bash", repoRoot().resolve("owl2j").toString(), "devices");
        pb.environment().put("JAVA_HOME", fakeHome.toString());
        Process p = pb.start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getInputStream().readAllBytes();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        byte[] err = p.getErrorStream().readAllBytes();
        int code = p.waitFor();
        return new byte[][]{err, out.get(), {(byte) code}};
    }

    @Test
    void onlyTheFirstLineIncubatorWarningIsDropped(@TempDir Path home) throws Exception {
        byte[][] r = launch(home, "printf 'WARNING: Using incubator modules: jdk.incubator.vector\\n' >&2\n"
                + "printf 'owl2j: a message with a \\0 byte and \\033[31m an escape\\n' >&2\n"
                + "printf 'WARNING: Using incubator modules: jdk.incubator.vector\\n' >&2\n"
                + "printf 'no newline at the end' >&2\n"
                + "exit 3");
        byte[] expected = ("owl2j: a message with a \0 byte and \033[31m an escape\n"
                + "WARNING: Using incubator modules: jdk.incubator.vector\n"
                + "no newline at the end").getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(expected, r[0], new String(r[0], StandardCharsets.UTF_8));
        assertEquals(3, r[2][0], "the JVM's exit code");
    }

    @Test
    void aFirstLineThatIsNotTheWarningIsKept(@TempDir Path home) throws Exception {
        byte[][] r = launch(home, "printf 'Error: could not start\\nsecond\\n' >&2\nexit 1");
        assertEquals("Error: could not start\nsecond\n", new String(r[0], StandardCharsets.UTF_8));
        assertEquals(1, r[2][0]);
    }

    @Test
    void stdoutIsUntouched(@TempDir Path home) throws Exception {
        byte[][] r = launch(home, "printf 'out\\0put\\n'\nexit 0");
        assertArrayEquals("out\0put\n".getBytes(StandardCharsets.UTF_8), r[1]);
        assertEquals(0, r[0].length);
    }
}
