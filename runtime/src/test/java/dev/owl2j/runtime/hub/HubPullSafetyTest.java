package dev.owl2j.runtime.hub;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.cli.Owl2jCommand;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What the hub (or whoever planted files in the pull folder) can make a pull write: never Owl2J's own records,
 * never through a link or into a FIFO, never into a folder holding another repository, never a file it cannot
 * check, never a redirect to something other than http(s). The timeout is a hang guard only (a FIFO must be
 * refused, not opened).
 */
@Timeout(300)
class HubPullSafetyTest {
    private static final List<String> PATHS = List.of("config.json", "generation_config.json", "model.safetensors",
            "golden/manifest.json");
    private static final RepoRef REF = new RepoRef(FakeHub.REPO, FakeHub.REVISION);

    @TempDir
    Path tmp;
    private FakeHub hub;
    private Path dir;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub(HubPullTest.testdata().resolve("tiny-owl2-f16"), PATHS);
        dir = tmp.resolve("model");
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private PullResult pull() {
        return new HubDownloader(PullOptions.fromEnv(Map.of()).withEndpoint(hub.uri()).withJobs(2).withAttempts(2))
                .pull(REF, dir, PullProgress.NONE);
    }

    private Owl2jException refused() {
        return assertThrows(Owl2jException.class, this::pull);
    }

    @ParameterizedTest
    @ValueSource(strings = {".owl2j-pull.json", ".owl2j-pull.lock", ".owl2j-pull.json/inner", ".owl2j-pull.lock/x.bin"})
    void aHubFileNamedLikeOwl2jsRecordsIsRefusedAndTheRecordKept(String name) throws IOException {
        pull();
        byte[] manifest = Files.readAllBytes(dir.resolve(ModelCache.MANIFEST));
        hub.files.put(name, "{\"repo\":\"evil/evil\"}".getBytes(StandardCharsets.UTF_8));
        Owl2jException e = refused();
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("keeps for its own records"), e.getMessage());
        assertArrayEquals(manifest, Files.readAllBytes(dir.resolve(ModelCache.MANIFEST)));
        assertTrue(Files.isRegularFile(dir.resolve(ModelCache.LOCK), LinkOption.NOFOLLOW_LINKS));
    }

    @ParameterizedTest
    @ValueSource(strings = {"config.json.part", "model.safetensors.part", "golden/manifest.json.part"})
    void aHubFileNamedLikeAnotherFilesPartialDownloadIsRefused(String name) {
        hub.files.put(name, "x".getBytes(StandardCharsets.UTF_8));
        Owl2jException e = refused();
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("partial download"), e.getMessage());
        assertFalse(Files.exists(dir.resolve(name)));
    }

    @Test
    void aFileWithNeitherSizeNorHashIsRefused() {
        hub.bare.add("generation_config.json");
        Owl2jException e = refused();
        assertTrue(e.getMessage().contains("generation_config.json") && e.getMessage().contains("neither a size nor a hash"),
                e.getMessage());
        assertFalse(ModelCache.isPulled(dir));
    }

    @Test
    void aFileWithASizeButNoHashIsFlagged() throws IOException {
        hub.sizeOnly.add("generation_config.json");
        hub.sizeOnly.add("config.json");
        PullResult r = pull();
        assertEquals(2, r.sizeOnly());
        Run run = cli("pull", FakeHub.REPO, "--endpoint", hub.endpoint(), "--dir", tmp.resolve("cli").toString(), "--no-progress");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("note: the hub gave no hash for 2 of the files; they were checked by size only"), run.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"file:///etc/passwd", "ftp://127.0.0.1/config.json", "jar:file:/x.jar!/config.json",
            "http://[::1", "//", "data:text/plain,hello"})
    void aRedirectToAnythingButHttpIsAOneLineError(String location) {
        hub.redirect.put("config.json", location);
        Run r = cli("pull", FakeHub.REPO, "--endpoint", hub.endpoint(), "--dir", dir.toString(), "--no-progress");
        assertEquals(1, r.code(), r.out());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("owl2j: the hub redirected ") && err.contains("config.json"), err);
        assertFalse(err.contains("Exception"), err);
    }

    @ParameterizedTest
    @ValueSource(strings = {"model.safetensors.part", "config.json.part", "config.json", "golden/manifest.json"})
    void aLinkPlantedWhereAFileGoesIsNotFollowed(String name) throws IOException {
        Files.createDirectories(dir.resolve("golden"));
        Path victim = Files.writeString(tmp.resolve("victim"), "precious");
        Files.createSymbolicLink(dir.resolve(name), victim);
        Owl2jException e = refused();
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertEquals("precious", Files.readString(victim));
        assertFalse(ModelCache.isPulled(dir));
    }

    @Test
    void aFifoPlantedAtAPartialNameIsRefusedWithoutHanging() throws Exception {
        Files.createDirectories(dir);
        Path fifo = dir.resolve("config.json.part");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        if (p.waitFor() != 0) {
            System.out.println("[HubPullSafetyTest] FIFO case skipped: mkfifo failed");
            Assumptions.abort("mkfifo failed");
        }
        Owl2jException e = refused();
        assertTrue(e.getMessage().contains("a device, FIFO or socket"), e.getMessage());
    }

    @Test
    void aLinkedSubfolderIsRefused() throws IOException {
        Files.createDirectories(dir);
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.createSymbolicLink(dir.resolve("golden"), elsewhere);
        Owl2jException e = refused();
        assertTrue(e.getMessage().contains("golden") && e.getMessage().contains("symbolic link"), e.getMessage());
        try (var s = Files.list(elsewhere)) {
            assertEquals(0, s.count(), "nothing written through the link");
        }
    }

    @Test
    void aLinkedLockFileIsRefused() throws IOException {
        Files.createDirectories(dir);
        Path victim = Files.writeString(tmp.resolve("victim"), "precious");
        Files.createSymbolicLink(dir.resolve(ModelCache.LOCK), victim);
        Owl2jException e = refused();
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        assertEquals("precious", Files.readString(victim));
    }

    @Test
    void aFolderHoldingAnotherRepositoryIsRefused() throws IOException {
        pull();
        Path manifest = dir.resolve(ModelCache.MANIFEST);
        for (String other : new String[]{"{\"repo\":\"other-org/other\",\"revision\":\"main\"}",
                "{\"repo\":\"" + FakeHub.REPO + "\",\"revision\":\"v2\"}"}) {
            Files.writeString(manifest, other);
            Owl2jException e = refused();
            assertTrue(e.getMessage().contains("holds a pull of") && e.getMessage().contains("not of " + REF), e.getMessage());
            assertEquals(other, Files.readString(manifest));
        }
    }

    @Test
    void dirWithAMissingParentIsNotCreated() {
        Path deep = tmp.resolve("missing/parent/model");
        Run r = cli("pull", FakeHub.REPO, "--endpoint", hub.endpoint(), "--dir", deep.toString(), "--no-progress");
        assertEquals(1, r.code());
        assertTrue(r.err().strip().startsWith("owl2j: cannot create " + deep) && r.err().contains("does not exist"), r.err());
        assertFalse(Files.exists(tmp.resolve("missing")));
    }

    private record Run(int code, String out, String err) {}

    private static Run cli(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Owl2jCommand.execute(Map.of(), args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
