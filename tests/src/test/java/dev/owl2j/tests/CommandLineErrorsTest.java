package dev.owl2j.tests;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A command line that cannot work is one line naming the option and what it takes, plus where the help is; never a
 * usage dump, never a model load first. Help and version work for every command.
 */
class CommandLineErrorsTest {
    static final String[] COMMANDS = {"run", "chat", "caption", "score", "serve", "devices", "pull", "inspect",
            "convert", "tokenize", "preprocess", "bench"};
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

    static void assertOneLine(Cli.Result r, String... fragments) {
        assertEquals(1, r.exitCode(), r.out() + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line:\n" + err);
        assertTrue(err.startsWith("owl2j: "), err);
        for (String f : fragments) {
            assertTrue(err.contains(f), "'" + err + "' should mention '" + f + "'");
        }
        assertFalse(err.contains("Exception"), err);
        assertFalse(err.contains("embedded default"), "failed before loading a model: " + err);
        assertEquals("", r.out(), "no usage dump on stdout");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "run --temperature abc          | --temperature takes T, a number such as 0.7, not 'abc' | see 'owl2j run --help'",
            "run --max-new-tokens 2147483648 | --max-new-tokens takes N, a whole number up to 2147483647, not '2147483648' | see 'owl2j run --help'",
            "run --top-k 1.5                | --top-k takes K, a whole number | '1.5'",
            "chat --seed x                  | --seed takes N, a whole number | 'x'",
            "serve --port http              | --port takes PORT, a whole number | see 'owl2j serve --help'",
            "bench --synthetic tiny --peaks-ms 1e3 | --peaks-ms takes MS | '1e3'",
    })
    void valuesOfTheWrongTypeNameTheOptionAndWhatItTakes(String args, String what, String where) {
        assertOneLine(Cli.run(args.trim().split("\\s+")), what.trim(), where.trim());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "score -p hi                    | score needs --candidate TEXT",
            "convert --model x              | convert needs --out DIR",
            "preprocess --image x.png       | preprocess needs --out OUT.safetensors",
            "caption                        | caption needs IMAGE",
            "bench                          | bench needs --synthetic 7b|tiny",
            "tokenize                       | tokenize needs one of --text TEXT, --json-lines FILE or --decode IDS",
    })
    void missingRequiredOptionsAreNamed(String args, String what) {
        assertOneLine(Cli.run(args.trim().split("\\s+")), what.trim(), "--help'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "run --temprature 0             | unknown option '--temprature' | did you mean --temperature",
            "devices --all                  | unknown option '--all'        | see 'owl2j devices --help'",
            "run --prompt hi extra          | unexpected argument 'extra'   | see 'owl2j run --help'",
            "frobnicate                     | unexpected argument 'frobnicate' | see 'owl2j --help'",
            "help frobnicate                | Unknown subcommand 'frobnicate'; see 'owl2j --help' | 'frobnicate'",
    })
    void unknownOptionsAndArgumentsAreNamed(String args, String what, String where) {
        assertOneLine(Cli.run(args.trim().split("\\s+")), what.trim(), where.trim());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "run --prompt hi --temperature -1     | --temperature must be 0 (greedy) or more, got -1.0",
            "run --prompt hi --temperature NaN    | --temperature must be 0 (greedy) or more",
            "run --prompt hi --top-p 0            | --top-p must be above 0 and at most 1, got 0.0",
            "run --prompt hi --top-p 1.5          | --top-p must be above 0 and at most 1, got 1.5",
            "run --prompt hi --max-new-tokens 0   | --max-new-tokens must be at least 1, got 0",
            "run --prompt hi --top-k -3           | --top-k must be 0 (off) or more, got -3",
            "chat --max-new-tokens -5             | --max-new-tokens must be at least 1, got -5",
            "run --prompt hi --repetition-penalty 0  | --repetition-penalty must be above 0 (1 = off), got 0.0",
            "run --prompt hi --presence-penalty 2.5  | --presence-penalty must be from -2 to 2, got 2.5",
            "chat --frequency-penalty -3             | --frequency-penalty must be from -2 to 2, got -3.0",
            "run --prompt hi --json-schema /nonexistent/schema.json | /nonexistent/schema.json: not a regular file",
            "run --prompt hi --output xml         | unknown --output 'xml'",
    })
    void valuesOutOfRangeAreRefusedBeforeAModelLoads(String args, String what) {
        assertOneLine(Cli.run(args.trim().split("\\s+")), what.trim());
    }

    @ParameterizedTest
    @ValueSource(strings = {"run", "chat", "caption", "score", "serve", "devices", "pull", "inspect", "convert",
            "tokenize", "preprocess", "bench"})
    void everyCommandPrintsTheVersionAndListsDebugInItsHelp(String command) {
        Cli.Result v = Cli.run(command, "-V");
        assertEquals(0, v.exitCode(), v.err());
        assertEquals("owl2j 0.1.0", v.out().strip());
        Cli.Result h = Cli.run(command, "--help");
        assertEquals(0, h.exitCode(), h.err());
        assertTrue(h.out().contains("--debug"), h.out());
        // every option's value is named in words (N, FILE, pad|resize|crop), never a field name like <maxNewTokens>
        List<String> raw = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("=<([a-z][A-Za-z]*)>").matcher(h.out());
        while (m.find()) raw.add(m.group());
        assertTrue(raw.isEmpty(), command + " --help shows raw placeholders " + raw);
    }

    @Test
    void theRootHelpListsEveryCommandWithItsDescription() {
        Cli.Result r = Cli.run("--help");
        assertEquals(0, r.exitCode(), r.err());
        for (String command : COMMANDS) {
            assertTrue(r.out().matches("(?s).*\\n  " + command + " +[A-Z].*"), command + " listed with a description:\n" + r.out());
        }
        assertTrue(r.out().contains("Answer one prompt about images"), r.out());
        Cli.Result none = Cli.run();
        assertEquals(r.out(), none.out(), "no arguments print the same help");
    }

    @Test
    void helpOfACommandIsItsFullHelp() {
        for (String command : new String[]{"run", "pull", "serve"}) {
            Cli.Result viaHelp = Cli.run("help", command);
            Cli.Result viaOption = Cli.run(command, "--help");
            assertEquals(0, viaHelp.exitCode(), viaHelp.err());
            assertEquals(viaOption.out(), viaHelp.out());
            assertTrue(viaHelp.out().startsWith("Usage: owl2j " + command), viaHelp.out());
        }
    }

    @Test
    void aspectIsDescribedWhereverItIsAccepted() {
        for (String command : new String[]{"run", "chat", "score", "caption", "serve"}) {
            String help = Cli.run(command, "--help").out();
            int at = help.indexOf("--aspect=pad|resize|crop");
            assertTrue(at >= 0, command + ":\n" + help);
            assertTrue(help.substring(at).contains("stretch"), command + " describes --aspect:\n" + help);
        }
    }

    @Test
    void devicesHelpNamesTheBackendOption() {
        String help = Cli.run("devices", "--help").out();
        assertTrue(help.contains("--backend auto") && !help.contains("--device auto"), help);
    }

    @Test
    void debugShowsTheTraceAndStillEndsWithTheOneLine() {
        Cli.Result r = Cli.run("run", "--prompt", "hi", "--top-k", "-3", "--debug");
        assertEquals(1, r.exitCode());
        List<String> lines = r.err().strip().lines().toList();
        assertTrue(lines.size() > 1, r.err());
        assertEquals("owl2j: --top-k must be 0 (off) or more, got -3", lines.get(lines.size() - 1));
    }
}
