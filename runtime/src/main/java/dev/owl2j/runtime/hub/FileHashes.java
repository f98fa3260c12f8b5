package dev.owl2j.runtime.hub;

import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Checks pulled files against the hashes the hub lists: SHA-256 for LFS files, the git blob id for files kept in
 * git itself. A resumed download hashes the prefix already on disk first, so the check always covers every byte.
 */
final class FileHashes {
    private static final int HASH_BUFFER = 1 << 20;

    private FileHashes() {}

    static void finishVerify(RemoteFile f, Path part, MessageDigest hasher) {
        if (hasher == null) {
            return;
        }
        String actual = HexFormat.of().formatHex(hasher.digest());
        String expected = f.sha256() != null ? f.sha256() : f.gitOid();
        if (!actual.equals(expected)) {
            try {
                Files.deleteIfExists(part);
            } catch (IOException ignored) {
                // the message below is what matters; a leftover .part is re-checked next run
            }
            throw new Owl2jException("downloaded file " + f.path() + " is corrupted: expected " + f.checkKind()
                    + " " + expected + ", got " + actual + " (deleted; run pull again)");
        }
    }

    /** Returns null when the file on disk matches the hub's hash, else the actual hash. */
    static String verifyOnDisk(Path file, RemoteFile f) throws IOException {
        MessageDigest hasher = newHasher(f, Files.size(file));
        if (hasher == null) {
            return null;
        }
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            hashPrefix(in, in.size(), hasher);
        }
        String actual = HexFormat.of().formatHex(hasher.digest());
        return actual.equals(f.sha256() != null ? f.sha256() : f.gitOid()) ? null : actual;
    }

    static void hashPrefix(FileChannel in, long length, MessageDigest hasher) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(HASH_BUFFER);
        long pos = 0;
        while (pos < length) {
            buf.clear().limit((int) Math.min(HASH_BUFFER, length - pos));
            int n = in.read(buf, pos);
            if (n < 0) {
                throw new IOException("file shorter than " + length + " bytes");
            }
            buf.flip();
            hasher.update(buf);
            pos += n;
        }
    }

    /**
     * SHA-256 for LFS files; for files in git itself the git blob id, which is SHA-1 over
     * {@code "blob <size>\0"} followed by the content.
     */
    static MessageDigest newHasher(RemoteFile f, long size) {
        try {
            if (f.sha256() != null) {
                return MessageDigest.getInstance("SHA-256");
            }
            if (f.gitOid() != null && size >= 0) {
                MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
                sha1.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
                return sha1;
            }
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
