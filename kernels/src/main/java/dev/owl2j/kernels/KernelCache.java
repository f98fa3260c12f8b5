package dev.owl2j.kernels;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Compiled kernels on disk, keyed by SHA-256 of (API, device, driver, options, source), so a changed source,
 * option or driver never picks up a stale binary. Directory: system property {@code owl2j.kernelCache}, else
 * {@code $XDG_CACHE_HOME/owl2j/kernels}, else {@code ~/.cache/owl2j/kernels}. A cache that cannot be written
 * only costs a recompile.
 */
public final class KernelCache {
    private final Path dir;
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();

    public KernelCache(Path dir) {
        this.dir = dir;
    }

    public static KernelCache standard() {
        String prop = System.getProperty("owl2j.kernelCache");
        if (prop != null && !prop.isBlank()) return new KernelCache(Path.of(prop));
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return new KernelCache(base.resolve("owl2j").resolve("kernels"));
    }

    public Path dir() {
        return dir;
    }

    public static String key(String api, String device, String driver, String options, String source) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String s : new String[]{api, device, driver, options, source}) {
                md.update(s.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The cached bytes for key, or null. */
    public byte[] get(String key, String extension) {
        Path p = dir.resolve(key + "." + extension);
        try {
            if (Files.isRegularFile(p)) {
                byte[] b = Files.readAllBytes(p);
                hits.incrementAndGet();
                return b;
            }
        } catch (IOException ignored) {
            // unreadable cache entry: recompile
        }
        misses.incrementAndGet();
        return null;
    }

    /** Stores atomically (write to a temp file, then move) so concurrent JVMs never read half a binary. */
    public void put(String key, String extension, byte[] data) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, key, ".tmp");
            Files.write(tmp, data);
            Files.move(tmp, dir.resolve(key + "." + extension), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException ignored) {
            // read-only home or full disk: the kernel still works, it is just compiled again next time
        }
    }

    public long hits() {
        return hits.get();
    }

    public long misses() {
        return misses.get();
    }
}
