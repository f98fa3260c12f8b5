package dev.owl2j.model.fuzz;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What every fuzz target shares (docs/security.md, How it is tested). A target hands the fuzzer's bytes to one
 * reader inside {@link #userErrorsOnly}: the reader may accept the input or refuse it with an
 * {@link Owl2jException} of one non-empty line; anything else (another exception, an error, a message of several
 * lines) is a finding that fails the test, and Jazzer keeps the input.
 */
public final class FuzzTargets {
    private FuzzTargets() {}

    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    public static void userErrorsOnly(Body body) {
        try {
            body.run();
        } catch (Owl2jException e) {
            String m = e.getMessage();
            if (m == null || m.isBlank() || m.indexOf('\n') >= 0 || m.indexOf('\r') >= 0) {
                throw new AssertionError("a user error must be one non-empty line, got: " + m, e);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new AssertionError("checked exception escaped as a finding: " + e, e);
        }
    }

    /** Seed inputs: the bytes of files under testdata/ (paths relative to it). */
    public static Stream<byte[]> testdataFiles(String... paths) {
        List<byte[]> out = new ArrayList<>();
        for (String p : paths) {
            try {
                out.add(Files.readAllBytes(TestData.root().resolve(p)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out.stream();
    }

    /**
     * One scratch file per target, rewritten for every input, for readers that take a path (memory-mapped files):
     * {@code target/fuzz-scratch/NAME}, relative to the module (the tests' working folder). Fixed and relative on
     * purpose: readers quote the path in their messages, and a path that differed between runs or machines (a
     * random temporary folder's name) changes the coverage of the code that builds and escapes those messages,
     * and with it which inputs a fuzzing run from a fixed seed tries (docs/security.md, How the tests run).
     */
    public static Path scratch(String name) {
        try {
            Path dir = Files.createDirectories(Path.of("target", "fuzz-scratch"));
            return dir.resolve(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
