package dev.owl2j.runtime.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link RootHelp}'s stored answers are exactly what picocli prints for the same arguments, plain and coloured, so
 * the fast path can never drift from the commands' annotations. On a difference the live text is written to
 * {@code runtime/target/root-help/}; copying it over the stored resources is the fix (docs/startup.md, "The root's
 * help").
 */
class RootHelpTest {
    private static final List<List<String>> FAST = List.of(List.of(), List.of("-h"), List.of("--help"),
            List.of("help"), List.of("-V"), List.of("--version"));

    /** picocli's output for {@code args} on stdout, colour forced on or off through picocli's own property. */
    private static String picocli(boolean coloured, List<String> args) {
        PrintStream oldOut = System.out;
        String oldAnsi = System.getProperty("picocli.ansi");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setProperty("picocli.ansi", Boolean.toString(coloured));
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int code = Owl2jCommand.execute(Map.of(), args.toArray(String[]::new));
            assertEquals(0, code, args.toString());
        } finally {
            System.setOut(oldOut);
            if (oldAnsi == null) System.clearProperty("picocli.ansi");
            else System.setProperty("picocli.ansi", oldAnsi);
        }
        return out.toString(StandardCharsets.UTF_8).replace(System.lineSeparator(), "\n");
    }

    @Test
    void theStoredUsageIsPicocliLiveUsage() throws IOException {
        Path dir = Path.of("target", "root-help");
        StringBuilder stale = new StringBuilder();
        for (boolean coloured : new boolean[]{false, true}) {
            String name = coloured ? RootHelp.STYLED : RootHelp.PLAIN;
            String live = picocli(coloured, List.of("--help"));
            if (!live.equals(RootHelp.stored(name))) {
                Files.createDirectories(dir);
                Files.writeString(dir.resolve(name), live, StandardCharsets.UTF_8);
                stale.append(' ').append(name);
            }
        }
        if (!stale.isEmpty()) {
            fail("the stored root help differs from picocli's (" + stale.toString().strip() + "): copy "
                    + dir.toAbsolutePath() + "/* to runtime/src/main/resources/dev/owl2j/runtime/cli/");
        }
        assertTrue(RootHelp.stored(RootHelp.STYLED).contains("\u001b["), "the coloured form has ANSI styles");
        assertTrue(!RootHelp.stored(RootHelp.PLAIN).contains("\u001b"), "the plain form has none");
    }

    @Test
    void everyFastAnswerIsWhatPicocliPrints() {
        for (boolean coloured : new boolean[]{false, true}) {
            for (List<String> args : FAST) {
                assertTrue(RootHelp.answers(args.toArray(String[]::new)), args.toString());
                String fast = RootHelp.answer(args.toArray(String[]::new), coloured);
                assertEquals(picocli(coloured, args), fast, args + (coloured ? " coloured" : " plain"));
            }
        }
    }

    @Test
    void everythingElseGoesToPicocli() {
        for (List<String> args : List.of(List.of("run"), List.of("--help", "run"), List.of("help", "run"),
                List.of("-hV"), List.of("--debug"), List.of("--debug", "--help"), List.of("-V", "-h"),
                List.of("--hel"), List.of("Help"))) {
            assertFalse(RootHelp.answers(args.toArray(String[]::new)), args.toString());
        }
    }
}
