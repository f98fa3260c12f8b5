package dev.owl2j.tests;

import dev.owl2j.model.TestData;
import dev.owl2j.runtime.cli.Owl2jCommand;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Runs the owl2j command line in this JVM with captured stdin/stdout/stderr. */
final class Cli {
    record Result(int exitCode, String out, String err) {}

    private Cli() {}

    static synchronized Result withInput(String stdin, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)));
            int code = Owl2jCommand.execute(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }

    static Result run(String... args) {
        return withInput(null, args);
    }

    static Path testdata() {
        return TestData.root();
    }

    static Path fixture() {
        return testdata().resolve("tiny-owl2-f16");
    }
}
