package dev.owl2j.tests;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Image paths on the command line: only regular files of at most 20 MiB are read, and every command checks them
 * before it loads a model, so a FIFO cannot hang it, {@code /dev/zero} cannot fill memory and a typo costs nothing.
 */
class ImagePathsTest {
    static Path home;
    static String previous;
    static Path bad;

    @BeforeAll
    static void badPaths() throws Exception {
        home = Files.createTempDirectory("owl2j-home");
        previous = System.getProperty("owl2j.cacheHome");
        System.setProperty("owl2j.cacheHome", home.toString());
        bad = Files.createTempDirectory("owl2j-bad-images");
        Files.createDirectory(bad.resolve("a-directory.png"));
        try (RandomAccessFile f = new RandomAccessFile(bad.resolve("huge.png").toFile(), "rw")) {
            f.setLength((20L << 20) + 1); // sparse: one byte over the limit, nothing written
        }
        Process p = new ProcessBuilder("mkfifo", bad.resolve("pipe.png").toString()).redirectErrorStream(true).start();
        if (p.waitFor() != 0) {
            System.out.println("[ImagePathsTest] no FIFO case: mkfifo failed");
        }
    }

    @AfterAll
    static void restore() {
        if (previous == null) System.clearProperty("owl2j.cacheHome");
        else System.setProperty("owl2j.cacheHome", previous);
    }

    /** Each bad path with the words its error must contain. */
    static List<String[]> cases() {
        List<String[]> c = new ArrayList<>();
        c.add(new String[]{bad.resolve("a-directory.png").toString(), "is a directory, not a regular file"});
        c.add(new String[]{"/dev/zero", "is a device, FIFO or socket, not a regular file"});
        c.add(new String[]{"/dev/null", "is a device, FIFO or socket, not a regular file"});
        c.add(new String[]{bad.resolve("huge.png").toString(), "is 20971521 bytes, over the limit of 20971520"});
        c.add(new String[]{bad.resolve("missing.png").toString(), "does not exist"});
        if (Files.exists(bad.resolve("pipe.png"))) {
            c.add(new String[]{bad.resolve("pipe.png").toString(), "is a device, FIFO or socket, not a regular file"});
        }
        return c;
    }

    static void assertRefusedBeforeLoading(Cli.Result r, String image, String words) {
        assertEquals(1, r.exitCode(), r.out() + r.err());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("owl2j: image " + image + " ") && err.contains(words), err);
        assertFalse(err.contains("embedded default"), "checked before the model loads: " + err);
    }

    @Test
    void runRefusesEveryKind() {
        for (String[] c : cases()) {
            assertRefusedBeforeLoading(Cli.run("run", "--image", c[0], "--prompt", "hi"), c[0], c[1]);
        }
    }

    @Test
    void captionScoreChatAndPreprocessRefuseEveryKind(@TempDir Path tmp) {
        for (String[] c : cases()) {
            assertRefusedBeforeLoading(Cli.run("caption", c[0]), c[0], c[1]);
            assertRefusedBeforeLoading(Cli.run("score", "-i", c[0], "-p", "hi", "-c", " good"), c[0], c[1]);
            assertRefusedBeforeLoading(Cli.run("chat", "-i", c[0]), c[0], c[1]);
            assertRefusedBeforeLoading(Cli.run("preprocess", "--image", c[0], "--out", tmp.resolve("p.safetensors").toString()),
                    c[0], c[1]);
        }
    }

    @Test
    void aGoodImageAfterABadOneIsStillRefusedAsAWhole() {
        String good = Cli.fixture().resolve("image0.png").toString();
        String dir = bad.resolve("a-directory.png").toString();
        assertRefusedBeforeLoading(Cli.run("run", "-i", good, "-i", dir, "--prompt", "<|image|><|image|>hi"), dir, "directory");
    }

    @Test
    void chatRefusesABadImageCommandAndGoesOn() {
        String input = "/image " + bad.resolve("a-directory.png") + "\n/image /dev/zero\n/exit\n";
        Cli.Result r = Cli.withInput(input, "chat", "--backend", "cpu", "--max-new-tokens", "1");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("owl2j: image " + bad.resolve("a-directory.png") + " is a directory"), r.err());
        assertTrue(r.err().contains("owl2j: image /dev/zero is a device, FIFO or socket"), r.err());
        assertFalse(r.err().contains("image attached"), r.err());
    }

    @Test
    void controlCharactersInAPathAreShownEscaped() throws Exception {
        Path odd = bad.resolve("new\nline\u001b[31m.png");
        Cli.Result r = Cli.run("run", "--image", odd.toString(), "--prompt", "hi");
        assertEquals(1, r.exitCode());
        String err = r.err();
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.contains("new\\nline\\x1b[31m.png does not exist"), err);
        assertFalse(err.contains("\u001b"), "no raw escape reaches the terminal");
    }
}
