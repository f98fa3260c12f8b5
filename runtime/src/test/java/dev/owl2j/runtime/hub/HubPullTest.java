package dev.owl2j.runtime.hub;

import dev.owl2j.model.TestData;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.cli.Owl2jCommand;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * owl2j pull against {@link FakeHub} on 127.0.0.1: every test is loopback-only. The timeout is a hang guard (a
 * loaded machine may be slow, never this slow); no test waits for time to pass or measures it.
 */
@Timeout(300)
class HubPullTest {
    /** The fixture's files served by the fake hub; one nested path to cover folders in a repository. */
    private static final List<String> PATHS = List.of("config.json", "generation_config.json",
            "preprocessor_config.json", "README.md", "image0.png", "image1.jpg", "model.safetensors",
            "golden/manifest.json");
    private static final RepoRef REF = new RepoRef(FakeHub.REPO, FakeHub.REVISION);

    @TempDir
    Path tmp;
    private FakeHub hub;
    private Path source;

    static Path testdata() {
        return TestData.root();
    }

    @BeforeEach
    void start() throws IOException {
        source = testdata().resolve("tiny-owl2-f16");
        hub = new FakeHub(source, PATHS);
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private PullOptions options() {
        return PullOptions.fromEnv(Map.of()).withEndpoint(hub.uri()).withJobs(3);
    }

    private void assertSameAsSource(Path dir, List<String> paths) throws IOException {
        for (String p : paths) {
            assertArrayEquals(Files.readAllBytes(source.resolve(p)), Files.readAllBytes(dir.resolve(p)), p);
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            List<Path> parts = walk.filter(f -> f.toString().endsWith(".part")).toList();
            assertEquals(List.of(), parts, "no .part files left");
        }
    }

    @Test
    void fullPullEqualsSourceBytesAndSecondRunSkipsEverything() throws IOException {
        Path dir = tmp.resolve("model");
        PullResult r = new HubDownloader(options()).pull(REF, dir, PullProgress.NONE);
        assertSameAsSource(dir, PATHS);
        assertEquals(PATHS.size(), r.files().size());
        assertEquals(PATHS.size(), r.downloaded());
        assertEquals(0, r.skipped());
        assertEquals(FakeHub.COMMIT, r.commit());
        long total = 0;
        for (String p : PATHS) total += Files.size(source.resolve(p));
        assertEquals(total, r.bytesDownloaded());
        assertTrue(ModelCache.isPulled(dir));
        // LFS files came through the CDN redirect, without the token leaving the hub's origin.
        assertEquals(3, hub.count("cdn GET /lfs/"));

        long resolvesBefore = hub.count("/resolve/") + hub.count("cdn GET");
        PullResult again = new HubDownloader(options()).pull(REF, dir, PullProgress.NONE);
        assertEquals(0, again.downloaded());
        assertEquals(PATHS.size(), again.skipped());
        assertEquals(0, again.bytesDownloaded());
        assertEquals(resolvesBefore, hub.count("/resolve/") + hub.count("cdn GET"), "nothing fetched again");
    }

    @Test
    void aFileChangedOnDiskIsFetchedAgainWhenNotInTheManifest() throws IOException {
        Path dir = tmp.resolve("model");
        new HubDownloader(options()).pull(REF, dir, PullProgress.NONE);
        Files.delete(dir.resolve(ModelCache.MANIFEST));
        byte[] cfg = Files.readAllBytes(dir.resolve("config.json"));
        cfg[10] ^= 1; // same size, different content: only the git blob id can tell
        Files.write(dir.resolve("config.json"), cfg);
        PullResult r = new HubDownloader(options()).pull(REF, dir, PullProgress.NONE);
        assertEquals(1, r.downloaded());
        assertEquals(PATHS.size() - 1, r.skipped());
        assertSameAsSource(dir, PATHS);
    }

    @Test
    void droppedTransferResumesWithRangeWithinTheSameRun() throws IOException {
        hub.dropOnce.add("model.safetensors");
        hub.dropOnce.add("config.json");
        Path dir = tmp.resolve("model");
        new HubDownloader(options()).pull(REF, dir, PullProgress.NONE);
        assertSameAsSource(dir, PATHS);
        assertEquals(1, hub.count("cdn GET /lfs/" + FakeHub.sha256(Files.readAllBytes(source.resolve("model.safetensors"))) + " range=bytes="));
        assertEquals(1, hub.count("/resolve/main/config.json range=bytes="));
    }

    @Test
    void droppedTransferResumesWithRangeOnTheNextRun() throws IOException {
        hub.dropOnce.add("model.safetensors");
        Path dir = tmp.resolve("model");
        Owl2jException e = assertThrows(Owl2jException.class,
                () -> new HubDownloader(options().withAttempts(1)).pull(REF, dir, PullProgress.NONE));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("run pull again to resume"),
                e.getMessage());
        Path part = dir.resolve("model.safetensors.part");
        long kept = Files.size(part);
        long full = Files.size(source.resolve("model.safetensors"));
        assertTrue(kept > 0 && kept <= full / 2, "kept " + kept);
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertFalse(ModelCache.isPulled(dir));

        new HubDownloader(options()).pull(REF, dir, PullProgress.NONE);
        assertSameAsSource(dir, PATHS);
        String lfsPath = "/lfs/" + FakeHub.sha256(Files.readAllBytes(source.resolve("model.safetensors")));
        assertEquals(1, hub.count("cdn GET " + lfsPath + " range=bytes=" + kept + "-"), String.join("\n", hub.log));
        assertEquals(2, hub.count("cdn GET " + lfsPath), "one broken transfer, one resumed");
    }

    @Test
    void stalledTransferIsDroppedAfterTheTimeoutAndResumed() throws IOException {
        hub.stallOnce.add("model.safetensors");
        Path dir = tmp.resolve("model");
        // a 5 s stall limit for bodies only: a loaded machine may make an ordinary transfer look stalled too, which
        // only costs a resumed attempt; the listing and response headers keep the default wait
        new HubDownloader(options().withStallTimeout(java.time.Duration.ofSeconds(5))).pull(REF, dir, PullProgress.NONE);
        assertSameAsSource(dir, PATHS);
        long half = Files.size(source.resolve("model.safetensors")) / 2;
        String lfsPath = "/lfs/" + FakeHub.sha256(Files.readAllBytes(source.resolve("model.safetensors")));
        assertEquals(1, hub.count("cdn GET " + lfsPath + " range=bytes=" + half + "-"), String.join("\n", hub.log));
    }

    @Test
    void serverIgnoringRangeMakesTheDownloadStartOver() throws IOException {
        hub.ignoreRange = true;
        hub.dropOnce.add("model.safetensors");
        Path dir = tmp.resolve("model");
        new HubDownloader(options()).pull(REF, dir, PullProgress.NONE);
        assertSameAsSource(dir, PATHS);
        assertEquals(1, hub.count("cdn GET /lfs/" + FakeHub.sha256(Files.readAllBytes(source.resolve("model.safetensors"))) + " range=bytes="));
    }

    @Test
    void corruptedLfsFileIsReportedWithBothHashesAndNotKept() throws IOException {
        hub.corrupt.add("model.safetensors");
        Path dir = tmp.resolve("model");
        Owl2jException e = assertThrows(Owl2jException.class,
                () -> new HubDownloader(options()).pull(REF, dir, PullProgress.NONE));
        byte[] good = Files.readAllBytes(source.resolve("model.safetensors"));
        byte[] bad = good.clone();
        bad[0] ^= 0x5A;
        String msg = e.getMessage();
        assertTrue(msg.contains("model.safetensors") && msg.contains("corrupted")
                && msg.contains("expected sha256 " + FakeHub.sha256(good)) && msg.contains("got " + FakeHub.sha256(bad)), msg);
        assertFalse(msg.contains("\n"));
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        assertFalse(Files.exists(dir.resolve("model.safetensors.part")));
        assertFalse(ModelCache.isPulled(dir));
    }

    @Test
    void corruptedGitFileIsCaughtByItsBlobId() {
        hub.corrupt.add("config.json");
        Path dir = tmp.resolve("model");
        Owl2jException e = assertThrows(Owl2jException.class,
                () -> new HubDownloader(options()).pull(REF, dir, PullProgress.NONE));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("git blob id"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("config.json")));
    }

    @Test
    void aSecondPullIntoTheSameFolderIsRefusedWhileOneRuns() throws IOException {
        Path dir = tmp.resolve("model");
        Files.createDirectories(dir);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve(ModelCache.LOCK),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             java.nio.channels.FileLock held = ch.lock()) {
            Owl2jException e = assertThrows(Owl2jException.class,
                    () -> new HubDownloader(options()).pull(REF, dir, PullProgress.NONE));
            assertEquals("another owl2j pull is writing to " + dir + "; wait for it to finish", e.getMessage());
        }
        new HubDownloader(options()).pull(REF, dir, PullProgress.NONE);
        assertSameAsSource(dir, PATHS);
    }

    @Test
    void includeSelectsFiles() throws IOException {
        Path dir = tmp.resolve("model");
        PullResult r = new HubDownloader(options().withInclude(List.of("*.json"))).pull(REF, dir, PullProgress.NONE);
        assertEquals(List.of("config.json", "generation_config.json", "preprocessor_config.json"),
                r.files().stream().map(RemoteFile::path).toList());
        assertSameAsSource(dir, List.of("config.json", "generation_config.json", "preprocessor_config.json"));
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
    }

    private record Run(int code, String out, String err) {}

    private static Run cli(Map<String, String> env, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Owl2jCommand.execute(env, args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void missingRepoAndRevisionAre404Messages() {
        Run repo = cli(Map.of(), "pull", "nobody/missing", "--endpoint", hub.endpoint(), "--dir", tmp.resolve("a").toString());
        assertEquals(1, repo.code());
        assertEquals("owl2j: model nobody/missing or its revision main not found at " + hub.endpoint(), repo.err().strip());
        Run rev = cli(Map.of(), "pull", FakeHub.REPO, "--revision", "v9", "--endpoint", hub.endpoint(), "--dir", tmp.resolve("b").toString());
        assertEquals(1, rev.code());
        assertEquals("owl2j: revision v9 not found in " + FakeHub.REPO + " at " + hub.endpoint(), rev.err().strip());
    }

    @Test
    void tokenIsRequiredFromHfTokenAndNeverSentToTheCdn() throws IOException {
        hub.requiredToken = "hf_secret";
        Path dir = tmp.resolve("model");
        Run denied = cli(Map.of("HF_ENDPOINT", hub.endpoint()), "pull", FakeHub.REPO, "--dir", dir.toString(), "--no-progress");
        assertEquals(1, denied.code());
        assertTrue(denied.err().startsWith("owl2j: access to " + FakeHub.REPO + " denied (HTTP 401)")
                && denied.err().contains("set HF_TOKEN"), denied.err());
        assertEquals(1, denied.err().strip().lines().count());

        Run wrong = cli(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_TOKEN", "hf_wrong"), "pull", FakeHub.REPO, "--dir", dir.toString());
        assertEquals(1, wrong.code());
        assertTrue(wrong.err().contains("the HF_TOKEN given cannot read it"), wrong.err());

        Run ok = cli(Map.of("HF_ENDPOINT", hub.endpoint(), "HF_TOKEN", "hf_secret"), "pull", FakeHub.REPO, "--dir", dir.toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().startsWith("pulled " + FakeHub.REPO + "@main (commit " + FakeHub.COMMIT + ") into " + dir
                + ": 8 files, 8 downloaded"), ok.out());
        assertSameAsSource(dir, PATHS);
        assertEquals(3, hub.count("cdn GET /lfs/"));
        assertEquals(0, countCdnWithAuth(), "the CDN must never see the token");
        assertTrue(hub.count("/resolve/main/config.json range=null auth=yes") >= 1);
    }

    private long countCdnWithAuth() {
        synchronized (hub.log) {
            return hub.log.stream().filter(l -> l.startsWith("cdn ") && l.endsWith("auth=yes")).count();
        }
    }

    @Test
    void noServerIsAOneLineNetworkError() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Run r = cli(Map.of(), "pull", FakeHub.REPO, "--endpoint", "http://127.0.0.1:" + port, "--dir", tmp.resolve("m").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("owl2j: cannot reach the hub at 127.0.0.1:" + port), r.err());
        assertEquals(1, r.err().strip().lines().count());
    }

    @Test
    void pullIntoTheCacheThenModelLocatorFindsItById() throws IOException {
        Path home = tmp.resolve("owl2j-home");
        Map<String, String> env = Map.of("OWL2J_HOME", home.toString(), "HF_ENDPOINT", hub.endpoint());
        Owl2jException before = assertThrows(Owl2jException.class, () -> ModelLocator.resolve(FakeHub.REPO, env));
        assertEquals("model " + FakeHub.REPO + " not found: not a directory, and not pulled (run: owl2j pull "
                + FakeHub.REPO + ")", before.getMessage());

        Run r = cli(env, "pull", FakeHub.REPO, "--jobs", "2");
        assertEquals(0, r.code(), r.err());
        Path expected = home.resolve("models").resolve("fake-org--tiny-owl2").resolve("main");
        assertSameAsSource(expected, PATHS);
        assertEquals(expected, ModelLocator.resolve(FakeHub.REPO, env));
        assertEquals(expected, ModelLocator.resolve(FakeHub.REPO + "@main", env));
        assertEquals(source, ModelLocator.resolve(source.toString(), env));
        assertThrows(Owl2jException.class, () -> ModelLocator.resolve(FakeHub.REPO + "@other", env));
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        Run id = cli(Map.of(), "pull", "not-an-id", "--endpoint", hub.endpoint());
        assertEquals(1, id.code());
        assertTrue(id.err().startsWith("owl2j: bad model repository id 'not-an-id'"), id.err());
        Run jobs = cli(Map.of(), "pull", FakeHub.REPO, "--endpoint", hub.endpoint(), "--jobs", "0");
        assertEquals(1, jobs.code());
        assertTrue(jobs.err().startsWith("owl2j: bad --jobs 0"), jobs.err());
        Run rev = cli(Map.of(), "pull", FakeHub.REPO + "@../x", "--endpoint", hub.endpoint());
        assertEquals(1, rev.code());
        assertTrue(rev.err().startsWith("owl2j: bad revision"), rev.err());
    }
}
