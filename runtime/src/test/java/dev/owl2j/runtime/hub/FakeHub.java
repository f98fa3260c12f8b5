package dev.owl2j.runtime.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for the Hugging Face hub on 127.0.0.1 (JDK HttpServer, random ports): the revision API with
 * {@code siblings[].{rfilename,size,blobId,lfs{sha256,size,pointerSize}}}, {@code /resolve/} URLs that serve
 * small files directly and redirect LFS files to a second server (the "CDN", another origin), Range requests,
 * and switches for failures: a required token, a connection dropped halfway, corrupted bytes, no Range support.
 * Hashes in the listing are computed here with the JDK's MessageDigest from the source bytes, independently of
 * the code under test.
 */
final class FakeHub implements AutoCloseable {
    static final String REPO = "fake-org/tiny-owl2";
    static final String REVISION = "main";
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    final Map<String, byte[]> files = Collections.synchronizedMap(new LinkedHashMap<>());
    final Set<String> lfs = ConcurrentHashMap.newKeySet();
    /** Files whose next full or ranged transfer stops halfway (each entry used once). */
    final Set<String> dropOnce = ConcurrentHashMap.newKeySet();
    /** Files whose next transfer sends half and then nothing, keeping the connection open. */
    final Set<String> stallOnce = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    /** Files served with their first byte flipped (the listing keeps the true hash). */
    final Set<String> corrupt = ConcurrentHashMap.newKeySet();
    /** Every request: "hub|cdn METHOD path range=R auth=yes|no". */
    final List<String> log = Collections.synchronizedList(new ArrayList<>());
    /** Files listed with a size but without any hash. */
    final Set<String> sizeOnly = ConcurrentHashMap.newKeySet();
    /** Files listed with neither a size nor a hash. */
    final Set<String> bare = ConcurrentHashMap.newKeySet();
    /** Files whose resolve URL answers 302 with this Location instead. */
    final Map<String, String> redirect = new ConcurrentHashMap<>();
    volatile String requiredToken;
    volatile boolean ignoreRange;

    private final HttpServer hub;
    private final HttpServer cdn;
    private final ExecutorService pool = Executors.newFixedThreadPool(8);

    FakeHub(Path source, List<String> paths) throws IOException {
        for (String p : paths) {
            files.put(p, Files.readAllBytes(source.resolve(p)));
            if (p.endsWith(".safetensors") || p.endsWith(".png") || p.endsWith(".jpg")) {
                lfs.add(p);
            }
        }
        InetAddress loopback = InetAddress.getLoopbackAddress();
        hub = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        cdn = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        hub.createContext("/", this::hub);
        cdn.createContext("/", this::cdn);
        hub.setExecutor(pool);
        cdn.setExecutor(pool);
        hub.start();
        cdn.start();
    }

    String endpoint() {
        return "http://127.0.0.1:" + hub.getAddress().getPort();
    }

    long count(String fragment) {
        synchronized (log) {
            return log.stream().filter(l -> l.contains(fragment)).count();
        }
    }

    private static final Map<byte[], String> SHA256_MEMO = Collections.synchronizedMap(new java.util.WeakHashMap<>()); // arrays hash by identity

    /** Memoized per array: the listing and the CDN ask for the same hashes on every request. */
    static String sha256(byte[] data) {
        return SHA256_MEMO.computeIfAbsent(data, d -> hex("SHA-256", null, d));
    }

    static String gitBlobId(byte[] data) {
        return hex("SHA-1", ("blob " + data.length + "\0").getBytes(StandardCharsets.US_ASCII), data);
    }

    private static String hex(String algorithm, byte[] prefix, byte[] data) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            if (prefix != null) {
                md.update(prefix);
            }
            return HexFormat.of().formatHex(md.digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void hub(HttpExchange ex) throws IOException {
        try (ex) {
            String raw = ex.getRequestURI().getRawPath();
            record(ex, "hub");
            if (requiredToken != null && !("Bearer " + requiredToken).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                send(ex, 401, "{\"error\":\"Invalid credentials in Authorization header\"}", null);
                return;
            }
            String apiPrefix = "/api/models/" + REPO + "/revision/";
            if (raw.startsWith("/api/models/")) {
                if (!raw.startsWith(apiPrefix)) {
                    send(ex, 404, "{\"error\":\"Repository not found\"}", "RepositoryNotFound");
                } else if (!decode(raw.substring(apiPrefix.length())).equals(REVISION)) {
                    send(ex, 404, "{\"error\":\"Invalid rev id\"}", "RevisionNotFound");
                } else {
                    send(ex, 200, listing(), null);
                }
                return;
            }
            String resolvePrefix = "/" + REPO + "/resolve/" + REVISION + "/";
            if (!raw.startsWith(resolvePrefix)) {
                send(ex, 404, "{\"error\":\"Repository not found\"}", "RepositoryNotFound");
                return;
            }
            String path = decodePath(raw.substring(resolvePrefix.length()));
            byte[] data = files.get(path);
            if (data == null) {
                send(ex, 404, "{\"error\":\"Entry not found\"}", "EntryNotFound");
                return;
            }
            ex.getResponseHeaders().add("X-Repo-Commit", COMMIT);
            if (redirect.containsKey(path)) {
                ex.getResponseHeaders().add("Location", redirect.get(path));
                ex.sendResponseHeaders(302, -1);
                return;
            }
            if (lfs.contains(path)) {
                // Relative path on another origin, with a signature-like query as real CDNs have.
                String location = "http://127.0.0.1:" + cdn.getAddress().getPort() + "/lfs/" + sha256(data)
                        + "?file=" + HubDownloader.encodeSegment(path) + "&Expires=9999999999&Signature=abc";
                ex.getResponseHeaders().add("Location", location);
                ex.sendResponseHeaders(302, -1);
                return;
            }
            serve(ex, path, data);
        }
    }

    private void cdn(HttpExchange ex) throws IOException {
        try (ex) {
            record(ex, "cdn");
            String query = ex.getRequestURI().getRawQuery();
            String path = query == null ? null : decode(query.replaceFirst("^file=([^&]*).*$", "$1"));
            byte[] data = path == null ? null : files.get(path);
            if (data == null || !ex.getRequestURI().getRawPath().equals("/lfs/" + sha256(data))) {
                send(ex, 403, "<Error>AccessDenied</Error>", null);
                return;
            }
            serve(ex, path, data);
        }
    }

    /** Serves data with Range support, corruption and a one-time halfway drop. */
    private void serve(HttpExchange ex, String path, byte[] data) throws IOException {
        if (corrupt.contains(path)) {
            data = data.clone();
            data[0] ^= 0x5A;
        }
        long start = 0;
        Matcher m = RANGE.matcher(String.valueOf(ex.getRequestHeaders().getFirst("Range")));
        if (!ignoreRange && m.matches()) {
            start = Long.parseLong(m.group(1));
            if (start >= data.length) {
                ex.getResponseHeaders().add("Content-Range", "bytes */" + data.length);
                ex.sendResponseHeaders(416, -1);
                return;
            }
            ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (data.length - 1) + "/" + data.length);
        }
        int length = (int) (data.length - start);
        ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
        ex.getResponseHeaders().add("Accept-Ranges", "bytes");
        ex.sendResponseHeaders(start > 0 ? 206 : 200, length);
        OutputStream out = ex.getResponseBody();
        if (stallOnce.remove(path)) {
            out.write(data, (int) start, length / 2);
            out.flush();
            try {
                closed.await(); // holds the connection open until the test ends: the client must give up by itself
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        if (dropOnce.remove(path)) {
            out.write(data, (int) start, length / 2);
            out.flush();
            // Closing with bytes still owed makes the JDK server drop the connection.
            ex.close();
            return;
        }
        out.write(data, (int) start, length);
    }

    private String listing() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("id", REPO);
        root.put("modelId", REPO);
        root.put("sha", COMMIT);
        root.put("private", requiredToken != null);
        ArrayNode siblings = root.putArray("siblings");
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            byte[] data = e.getValue();
            ObjectNode s = siblings.addObject();
            s.put("rfilename", e.getKey());
            if (bare.contains(e.getKey())) {
                continue;
            }
            if (sizeOnly.contains(e.getKey())) {
                s.put("size", data.length);
                continue;
            }
            if (lfs.contains(e.getKey())) {
                String pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256(data)
                        + "\nsize " + data.length + "\n";
                s.put("blobId", gitBlobId(pointer.getBytes(StandardCharsets.US_ASCII)));
                s.put("size", data.length);
                ObjectNode l = s.putObject("lfs");
                l.put("sha256", sha256(data));
                l.put("size", data.length);
                l.put("pointerSize", pointer.length());
            } else {
                s.put("blobId", gitBlobId(data));
                s.put("size", data.length);
            }
        }
        return root.toString();
    }

    private void record(HttpExchange ex, String server) {
        log.add(server + " " + ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath()
                + " range=" + ex.getRequestHeaders().getFirst("Range")
                + " auth=" + (ex.getRequestHeaders().containsKey("Authorization") ? "yes" : "no"));
    }

    private static void send(HttpExchange ex, int status, String body, String errorCode) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        if (errorCode != null) {
            ex.getResponseHeaders().add("X-Error-Code", errorCode);
        }
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String decodePath(String raw) {
        StringBuilder b = new StringBuilder();
        for (String seg : raw.split("/")) {
            b.append(b.isEmpty() ? "" : "/").append(decode(seg));
        }
        return b.toString();
    }

    URI uri() {
        return URI.create(endpoint());
    }

    @Override
    public void close() {
        closed.countDown();
        hub.stop(0);
        cdn.stop(0);
        pool.shutdownNow();
    }
}
