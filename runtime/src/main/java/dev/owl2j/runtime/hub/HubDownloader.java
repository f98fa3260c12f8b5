package dev.owl2j.runtime.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads a Hugging Face model repository revision into a folder.
 *
 * <p>The file list comes from {@code GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true} (siblings with
 * size, git blob id, and for LFS files the content's SHA-256); each file from
 * {@code {endpoint}/{repo}/resolve/{rev}/{path}}. The JDK's HttpClient does the HTTP; the download loop is
 * written here because it has to combine things no library bundles for us: resume with {@code Range} (and
 * start over when a server answers 200 instead of 206), hashing while writing, {@code .part} files renamed
 * only once verified, and the hub's error codes turned into one-line messages. Redirects are followed by hand
 * so that the token goes only to the hub's own host, never to the CDN a large file redirects to (its URL is
 * signed, and a stray Authorization header can make it refuse).
 */
public final class HubDownloader {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REDIRECTS = 10;
    private static final int BUFFER = 1 << 20;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final String USER_AGENT = "owl2j/0.1.0 (java " + Runtime.version().feature() + ")";

    /** Drops transfers that stall (the JDK client has no timeout between body bytes). */
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "owl2j-pull-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final PullOptions options;
    private final HttpClient http;

    public HubDownloader(PullOptions options) {
        this.options = options;
        // HTTP/1.1: one TCP connection per parallel download, as other hub clients do; HTTP/2 would multiplex
        // every file over one connection and share one congestion window.
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(options.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** Lists the files of {@code ref} (all of them, before {@code --include} filtering). */
    public Listing list(RepoRef ref) {
        URI uri = URI.create(options.endpoint() + "/api/models/" + ref.repo() + "/revision/"
                + encodeSegment(ref.revision()) + "?blobs=true");
        HttpResponse<byte[]> response;
        try {
            response = http.send(request(uri, true).header("Accept", "application/json").build(),
                    HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw HubErrors.networkError(uri, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Owl2jException("pull of " + ref + " interrupted");
        }
        int status = response.statusCode();
        if (status != 200) {
            throw HubErrors.httpError(options.endpoint(), options.token() != null, ref, null, status, response.headers().firstValue("X-Error-Code").orElse(""));
        }
        JsonNode root;
        try {
            root = JSON.readTree(response.body());
        } catch (IOException e) {
            throw new Owl2jException("the hub at " + options.endpoint() + " sent a file list for " + ref
                    + " that is not JSON: " + e.getMessage());
        }
        JsonNode siblings = root.path("siblings");
        if (!siblings.isArray()) {
            throw new Owl2jException("the hub at " + options.endpoint() + " sent no file list (siblings) for " + ref);
        }
        List<RemoteFile> files = new ArrayList<>();
        for (JsonNode s : siblings) {
            String path = s.path("rfilename").asText(null);
            if (path == null || path.isEmpty()) {
                throw new Owl2jException("the hub's file list for " + ref + " has an entry without rfilename");
            }
            JsonNode lfs = s.path("lfs");
            long size = lfs.has("size") ? lfs.path("size").asLong(-1) : s.path("size").asLong(-1);
            String sha256 = lfs.isObject() ? lowerOrNull(lfs.path("sha256").asText(null)) : null;
            String gitOid = lfs.isObject() ? null : lowerOrNull(s.path("blobId").asText(null));
            files.add(new RemoteFile(path, size, sha256, gitOid));
        }
        String commit = root.path("sha").asText(null);
        return new Listing(commit, files);
    }

    /** The hub's answer for one revision: its commit (may be null) and files. */
    public record Listing(String commit, List<RemoteFile> files) {}

    /**
     * Downloads every selected file of {@code ref} into {@code dir}, skipping files already complete, and
     * writes {@link ModelCache#MANIFEST} last. Throws {@link Owl2jException} on any failure; partial files stay as
     * {@code .part} for the next run to resume, except ones that failed verification, which are deleted.
     */
    public PullResult pull(RepoRef ref, Path dir, PullProgress progress) {
        Listing listing = list(ref);
        List<RemoteFile> selected = select(ref, listing.files());
        PullFolder.checkListing(ref, selected);
        PullFolder folder = PullFolder.open(dir);
        try (FileChannel lockFile = folder.lockChannel()) {
            FileLock lock;
            try {
                lock = lockFile.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new Owl2jException("another owl2j pull is writing to " + dir + "; wait for it to finish");
            }
            folder.checkOwner(ref); // under the lock: another pull may be writing the manifest
            return pullLocked(ref, folder, progress, listing, selected);
        } catch (IOException e) {
            throw new Owl2jException("cannot lock " + dir.resolve(ModelCache.LOCK) + ": " + e.getMessage());
        }
    }

    private PullResult pullLocked(RepoRef ref, PullFolder folder, PullProgress progress, Listing listing,
                                  List<RemoteFile> selected) {
        Map<String, RemoteFile> known = folder.readManifest();
        long total = selected.stream().mapToLong(f -> Math.max(f.size(), 0)).sum();
        AtomicInteger downloaded = new AtomicInteger();
        AtomicInteger skipped = new AtomicInteger();
        AtomicLong received = new AtomicLong();
        AtomicBoolean cancelled = new AtomicBoolean();
        progress.start(total);
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(options.jobs(), Math.max(1, selected.size())),
                r -> {
                    Thread t = new Thread(r, "owl2j-pull");
                    t.setDaemon(true);
                    return t;
                });
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (RemoteFile f : selected) {
                futures.add(pool.submit(() -> {
                    if (cancelled.get()) {
                        return null;
                    }
                    try {
                        boolean fetched = fetch(ref, f, folder, known.get(f.path()), progress, received, cancelled);
                        (fetched ? downloaded : skipped).incrementAndGet();
                    } catch (RuntimeException e) {
                        cancelled.set(true);
                        throw e;
                    }
                    return null;
                }));
            }
            RuntimeException first = null;
            for (Future<?> future : futures) {
                try {
                    future.get();
                } catch (ExecutionException e) {
                    if (first == null || first instanceof Cancelled) {
                        first = e.getCause() instanceof RuntimeException r ? r
                                : new Owl2jException("pull of " + ref + " failed: " + e.getCause());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    cancelled.set(true);
                    throw new Owl2jException("pull of " + ref + " interrupted");
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            pool.shutdownNow();
            progress.finish();
        }
        folder.writeManifest(ref, listing.commit(), options.endpoint().toString(), known, selected);
        int sizeOnly = (int) selected.stream().filter(f -> f.sha256() == null && f.gitOid() == null).count();
        return new PullResult(folder.dir(), listing.commit(), selected, downloaded.get(), skipped.get(), received.get(),
                sizeOnly);
    }

    private List<RemoteFile> select(RepoRef ref, List<RemoteFile> files) {
        List<PathMatcher> matchers = new ArrayList<>();
        for (String glob : options.include()) {
            try {
                matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + glob));
            } catch (IllegalArgumentException e) {
                throw new Owl2jException("bad --include pattern '" + glob + "': " + e.getMessage());
            }
        }
        List<RemoteFile> selected = new ArrayList<>();
        for (RemoteFile f : files) {
            if (matchers.isEmpty() || matchers.stream().anyMatch(m -> m.matches(Path.of(f.path())))) {
                selected.add(f);
            }
        }
        if (selected.isEmpty()) {
            throw new Owl2jException(files.isEmpty() ? ref + " has no files"
                    : "no file of " + ref + " matches --include " + String.join(", ", options.include()));
        }
        return selected;
    }

    /** Thrown in workers that stop because another file already failed; never reaches the user. */
    private static final class Cancelled extends RuntimeException {
        Cancelled() {
            super("cancelled", null, false, false);
        }
    }

    /** A failure worth another try (a broken connection, a 5xx): the .part file is kept for resuming. */
    private static final class Transient extends Exception {
        Transient(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Returns true when bytes were fetched, false when the file was already complete. */
    private boolean fetch(RepoRef ref, RemoteFile f, PullFolder folder, RemoteFile recorded, PullProgress progress,
                          AtomicLong received, AtomicBoolean cancelled) {
        Path target = folder.target(f.path());
        Path part = PullFolder.partOf(target);
        try {
            if (PullFolder.requireRegularOrMissing(target)) {
                // A previous pull recorded this very file as verified: trust it if the size still matches.
                // Otherwise (an interrupted pull, or a file put there by hand) check its content once.
                if (f.size() < 0 || Files.size(target) == f.size()) {
                    // (with no hash from the hub, the size is all there is to check)
                    if (f.equals(recorded) || FileHashes.verifyOnDisk(target, f) == null) {
                        progress.advance(Math.max(f.size(), 0));
                        return false;
                    }
                }
                Files.delete(target);
            }
        } catch (IOException e) {
            throw new Owl2jException("cannot write " + target + ": " + e.getMessage());
        }
        Transient last = null;
        for (int attempt = 1; attempt <= options.attempts(); attempt++) {
            if (cancelled.get()) {
                throw new Cancelled();
            }
            try {
                downloadOnce(ref, f, part, progress, received, cancelled);
                last = null;
                break;
            } catch (Transient e) {
                last = e;
                if (attempt < options.attempts()) {
                    sleepBeforeRetry(attempt);
                }
            }
        }
        if (last != null) {
            Throwable cause = last.getCause();
            if (cause instanceof ConnectException || cause instanceof UnknownHostException
                    || cause instanceof HttpConnectTimeoutException) {
                throw HubErrors.networkError(resolveUri(ref, f), (IOException) cause);
            }
            throw new Owl2jException("download of " + f.path() + " failed after " + options.attempts()
                    + " attempts: " + last.getMessage() + " (run pull again to resume)");
        }
        try {
            PullFolder.requireRegularOrMissing(target);
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Owl2jException("cannot move " + part + " to " + target + ": " + e.getMessage());
        }
        return true;
    }

    private static void sleepBeforeRetry(int attempt) {
        try {
            Thread.sleep(Math.min(200L << (attempt - 1), 5_000L));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Cancelled();
        }
    }

    private void downloadOnce(RepoRef ref, RemoteFile f, Path part, PullProgress progress, AtomicLong received,
                              AtomicBoolean cancelled) throws Transient {
        long have;
        try {
            have = PullFolder.requireRegularOrMissing(part) ? Files.size(part) : 0;
            if (f.size() >= 0 && have > f.size()) {
                Files.delete(part);
                have = 0;
            }
            if (f.size() >= 0 && have == f.size() && have > 0) {
                // Complete but never verified (the run stopped between writing and renaming).
                String bad = FileHashes.verifyOnDisk(part, f);
                if (bad == null) {
                    progress.advance(have);
                    return;
                }
                Files.delete(part);
                have = 0;
            }
        } catch (IOException e) {
            throw new Owl2jException("cannot read " + part + ": " + e.getMessage());
        }
        if (f.size() == 0) {
            try (FileChannel empty = PullFolder.openPart(part)) {
                empty.truncate(0);
            } catch (IOException e) {
                throw new Owl2jException("cannot write " + part + ": " + e.getMessage());
            }
            FileHashes.finishVerify(f, part, FileHashes.newHasher(f, 0));
            return;
        }
        URI uri = resolveUri(ref, f);
        HttpResponse<InputStream> response = get(uri, have > 0 ? "bytes=" + have + "-" : null);
        int status = response.statusCode();
        long counted = 0; // bytes of this file reported to progress by this attempt
        long timeoutNanos = options.stallTimeout().toNanos();
        AtomicLong lastData = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        InputStream watched = response.body();
        long period = Math.max(10, Math.min(1000, options.stallTimeout().toMillis() / 4));
        ScheduledFuture<?> watch = WATCHDOG.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastData.get() > timeoutNanos && stalled.compareAndSet(false, true)) {
                closeQuietly(watched); // makes the blocked read end, and this attempt with it
            }
        }, period, period, TimeUnit.MILLISECONDS);
        try (InputStream body = watched) {
            long start;
            if (status == 206) {
                Matcher m = CONTENT_RANGE.matcher(response.headers().firstValue("Content-Range").orElse(""));
                if (!m.matches() || m.group(1).length() > 18 || Long.parseLong(m.group(1)) != have) {
                    // A range we did not ask for: drop what we have and take it from the top next time.
                    Files.deleteIfExists(part);
                    throw new Transient("the server answered a range request for " + f.path() + " with a different range", null);
                }
                start = have;
            } else if (status == 200) {
                start = 0; // no range support (or no range asked): the body is the whole file
            } else if (status == 416) {
                Files.deleteIfExists(part);
                throw new Transient("the server refused to resume " + f.path() + " (HTTP 416)", null);
            } else if (status == 429 || status >= 500) {
                throw new Transient("HTTP " + status + " for " + f.path(), null);
            } else {
                throw HubErrors.httpError(options.endpoint(), options.token() != null, ref, f, status, response.headers().firstValue("X-Error-Code").orElse(""));
            }
            MessageDigest hasher = FileHashes.newHasher(f, f.size());
            try (FileChannel out = PullFolder.openPart(part)) {
                if (start == 0) {
                    out.truncate(0);
                } else if (hasher != null) {
                    FileHashes.hashPrefix(out, start, hasher);
                }
                progress.advance(start);
                counted = start;
                out.position(start);
                byte[] buf = new byte[BUFFER];
                long pos = start;
                int n;
                while ((n = body.read(buf)) >= 0) {
                    lastData.set(System.nanoTime());
                    if (cancelled.get()) {
                        throw new Cancelled();
                    }
                    if (f.size() >= 0 && pos + n > f.size()) {
                        Files.deleteIfExists(part);
                        throw new Owl2jException("the hub sent more than the " + f.size() + " bytes it lists for "
                                + f.path());
                    }
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    while (bb.hasRemaining()) {
                        out.write(bb);
                    }
                    if (hasher != null) {
                        hasher.update(buf, 0, n);
                    }
                    pos += n;
                    counted += n;
                    received.addAndGet(n);
                    progress.advance(n);
                }
                if (stalled.get()) {
                    throw new Transient("no data for " + options.stallTimeout().toMillis() + " ms after " + pos
                            + " bytes of " + f.path(), null);
                }
                if (f.size() >= 0 && pos != f.size()) {
                    throw new Transient("connection closed after " + pos + " of " + f.size() + " bytes of " + f.path(), null);
                }
            }
            counted = 0; // complete: keep what was reported
            FileHashes.finishVerify(f, part, hasher);
        } catch (IOException e) {
            if (stalled.get()) {
                throw new Transient("no data for " + options.stallTimeout().toMillis() + " ms while downloading " + f.path(), null);
            }
            throw new Transient(HubErrors.ioProblem(e) + " while downloading " + f.path(), e);
        } finally {
            watch.cancel(false);
            if (counted > 0) {
                progress.advance(-counted); // the next attempt reports the kept prefix again
            }
        }
    }

    private HttpResponse<InputStream> get(URI uri, String range) throws Transient {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = request(current, sameOrigin(current, options.endpoint()));
            if (range != null) {
                b.header("Range", range);
            }
            HttpResponse<InputStream> response;
            try {
                response = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (IOException e) {
                throw new Transient(HubErrors.ioProblem(e) + " for " + current, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Cancelled();
            }
            int status = response.statusCode();
            if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
                String location = response.headers().firstValue("Location").orElse(null);
                closeQuietly(response.body());
                if (location == null) {
                    throw new Owl2jException("the hub redirected " + uri + " without a Location");
                }
                current = HubErrors.redirectTarget(uri, current, location);
                continue;
            }
            return response;
        }
        throw new Owl2jException("too many redirects for " + uri);
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // the connection is dropped either way
        }
    }

    private HttpRequest.Builder request(URI uri, boolean withToken) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().timeout(options.timeout())
                .header("User-Agent", USER_AGENT);
        if (withToken && options.token() != null) {
            b.header("Authorization", "Bearer " + options.token());
        }
        return b;
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    private URI resolveUri(RepoRef ref, RemoteFile f) {
        StringBuilder path = new StringBuilder();
        for (String segment : f.path().split("/")) {
            path.append('/').append(encodeSegment(segment));
        }
        return URI.create(options.endpoint() + "/" + ref.repo() + "/resolve/" + encodeSegment(ref.revision()) + path);
    }

    /** Percent-encodes one URL path segment (URLEncoder is for forms: it writes '+' for space). */
    static String encodeSegment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String lowerOrNull(String s) {
        return s == null || s.isEmpty() ? null : s.toLowerCase(java.util.Locale.ROOT);
    }
}
