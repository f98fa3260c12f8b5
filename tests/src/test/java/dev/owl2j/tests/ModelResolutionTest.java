package dev.owl2j.tests;

import dev.owl2j.model.tokenizer.DefaultTokenizerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every command resolves {@code --model} the same way: a folder, else a repository id pulled into the cache; and
 * with no {@code --model} every command uses the embedded default (and says so).
 */
class ModelResolutionTest {
    static final String ID = "fake-org/tiny-owl2";
    static Path home;
    static String previous;

    @BeforeAll
    static void pullIntoATemporaryCache() throws Exception {
        home = Files.createTempDirectory("owl2j-home");
        previous = System.getProperty("owl2j.cacheHome");
        System.setProperty("owl2j.cacheHome", home.toString());
        // what a finished pull leaves: the files and the manifest that marks the folder as complete
        Path dir = Files.createDirectories(home.resolve("models/fake-org--tiny-owl2/main"));
        for (String f : new String[]{"config.json", "generation_config.json", "preprocessor_config.json", "model.safetensors"}) {
            Files.copy(Cli.fixture().resolve(f), dir.resolve(f));
        }
        DefaultTokenizerBuilder.write(32000, dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve(".owl2j-pull.json"), "{\"repo\":\"fake-org/tiny-owl2\",\"revision\":\"main\",\"files\":[]}");
    }

    @AfterAll
    static void restore() {
        if (previous == null) System.clearProperty("owl2j.cacheHome");
        else System.setProperty("owl2j.cacheHome", previous);
    }

    @Test
    void inspectTakesAPulledId() {
        Cli.Result r = Cli.run("inspect", "--model", ID);
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("models/fake-org--tiny-owl2/main"), r.out());
    }

    @Test
    void convertTakesAPulledId(@TempDir Path tmp) {
        Cli.Result r = Cli.run("convert", "--model", ID, "--out", tmp.resolve("out").toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.isRegularFile(tmp.resolve("out/model.safetensors")), r.out());
    }

    @Test
    void tokenizeTakesAPulledId() {
        Cli.Result byId = Cli.run("tokenize", "--model", ID, "--text", "Hello world", "--output", "text");
        Cli.Result byDir = Cli.run("tokenize", "--model", home.resolve("models/fake-org--tiny-owl2/main").toString(),
                "--text", "Hello world", "--output", "text");
        assertEquals(0, byId.exitCode(), byId.err());
        assertEquals(byDir.out(), byId.out());
    }

    @Test
    void preprocessTakesAPulledId(@TempDir Path tmp) {
        Cli.Result r = Cli.run("preprocess", "--model", ID, "--image", Cli.fixture().resolve("image0.png").toString(),
                "--out", tmp.resolve("p.safetensors").toString());
        assertEquals(0, r.exitCode(), r.err());
    }

    @Test
    void runTakesAPulledId() {
        Cli.Result r = Cli.run("run", "--model", ID, "--backend", "cpu", "--prompt", "Hi", "--max-new-tokens", "2",
                "--temperature", "0", "--output", "json");
        assertEquals(0, r.exitCode(), r.err());
        assertFalse(r.err().contains("embedded default"), r.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"inspect", "convert", "tokenize", "preprocess", "run"})
    void anIdThatWasNeverPulledSaysHowToPullIt(String command) {
        String[] args = switch (command) {
            case "convert" -> new String[]{"convert", "--model", "other-org/never-pulled", "--out", home.resolve("never").toString()};
            case "tokenize" -> new String[]{"tokenize", "--model", "other-org/never-pulled", "--text", "x"};
            case "preprocess" -> new String[]{"preprocess", "--model", "other-org/never-pulled", "--image",
                    Cli.fixture().resolve("image0.png").toString(), "--out", home.resolve("never.safetensors").toString()};
            case "run" -> new String[]{"run", "--model", "other-org/never-pulled", "--prompt", "x"};
            default -> new String[]{command, "--model", "other-org/never-pulled"};
        };
        Cli.Result r = Cli.run(args);
        assertEquals(1, r.exitCode(), r.out() + r.err());
        assertEquals("owl2j: model other-org/never-pulled not found: not a directory, and not pulled (run: owl2j pull other-org/never-pulled)",
                r.err().strip());
    }

    @Test
    void withoutModelEveryCommandUsesTheEmbeddedDefault(@TempDir Path tmp) {
        Cli.Result inspect = Cli.run("inspect");
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(inspect.err().contains("embedded default model"), inspect.err());
        assertTrue(inspect.out().contains("default-model-"), inspect.out());

        Cli.Result tokenize = Cli.run("tokenize", "--text", "Hello", "--output", "text");
        assertEquals(0, tokenize.exitCode(), tokenize.err());
        assertTrue(tokenize.out().strip().startsWith("1 "), "BOS first: " + tokenize.out());

        Cli.Result convert = Cli.run("convert", "--out", tmp.resolve("c").toString());
        assertEquals(0, convert.exitCode(), convert.err());
        assertTrue(Files.isRegularFile(tmp.resolve("c/tokenizer.json")), convert.out());
    }
}
