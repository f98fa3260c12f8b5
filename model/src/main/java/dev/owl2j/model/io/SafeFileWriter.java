package dev.owl2j.model.io;

import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The one way Owl2J writes a file a user names (or a download it keeps): a new temporary file in the target's own
 * directory, created exclusively under a random name and never through a symbolic link, then renamed over the
 * target in one atomic step once everything is written. So a reader sees the old file or the whole new one, never
 * half of one; a failed or interrupted write leaves nothing behind; a link planted at a guessable name cannot
 * redirect the data; and a target that exists but is not a regular file (a directory, a device such as
 * {@code /dev/full}, a FIFO, a symbolic link) is refused rather than replaced. Parent directories are never
 * created: a missing one is an error, as a mistyped path should be.
 *
 * <pre>{@code
 * try (SafeFileWriter w = SafeFileWriter.create(target)) {
 *     w.channel().write(...);
 *     w.commit();
 * }   // closed without commit(): the temporary file is deleted
 * }</pre>
 */
public final class SafeFileWriter implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int NAME_TRIES = 16;
    /** Where temporary names come from; tests replace it to make a name collide with a planted link. */
    static java.util.function.Supplier<String> names = SafeFileWriter::randomHex;

    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private boolean done;

    private SafeFileWriter(Path target, Path temp, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
    }

    /** Checks {@code target} and opens a fresh temporary file beside it (read and write). */
    public static SafeFileWriter create(Path target) {
        Path dir = checkTarget(target);
        String base = target.getFileName().toString();
        // the temporary name keeps the target's name for whoever finds a leftover after a crash, and is hidden
        String prefix = "." + (base.length() > 100 ? base.substring(0, 100) : base) + ".";
        for (int i = 0; i < NAME_TRIES; i++) {
            Path temp = dir.resolve(prefix + names.get() + ".tmp");
            try {
                FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
                return new SafeFileWriter(target, temp, ch);
            } catch (FileAlreadyExistsException e) {
                // someone holds that name (a planted link, or a collision of 64 random bits): take another
            } catch (IOException e) {
                throw failure(target, e);
            }
        }
        throw new Owl2jException("cannot write " + target + ": no free temporary name in " + dir);
    }

    /**
     * A temporary file in {@code dir} for intermediate data (the same exclusive, random, link-refusing creation);
     * it is never put in place: {@link #close()} deletes it.
     */
    public static SafeFileWriter scratch(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new Owl2jException("cannot write in " + dir + ": not a directory");
        }
        for (int i = 0; i < NAME_TRIES; i++) {
            Path temp = dir.resolve(".owl2j-scratch." + names.get() + ".tmp");
            try {
                FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
                return new SafeFileWriter(null, temp, ch);
            } catch (FileAlreadyExistsException e) {
                // taken: another random name
            } catch (IOException e) {
                throw failure(dir, e);
            }
        }
        throw new Owl2jException("cannot write in " + dir + ": no free temporary name");
    }

    /**
     * Makes {@code dir} a directory to write into: an existing directory is used as it is; a missing one is
     * created, but only it, never its parents (a mistyped path should fail, not grow a tree).
     */
    public static void ensureDirectory(Path dir) {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path parent = dir.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new Owl2jException("cannot create " + dir + ": directory " + parent + " does not exist");
        }
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            throw new Owl2jException("cannot write in " + dir + ": it exists and is not a directory");
        } catch (IOException e) {
            throw failure(dir, e);
        }
    }

    /**
     * The directory a new file at {@code target} would go into, after checking that it exists and that the
     * target, if present, is a regular file (not followed if it is a link).
     */
    public static Path checkTarget(Path target) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || abs.getFileName() == null) {
            throw new Owl2jException("cannot write " + target + ": not a file name");
        }
        if (!Files.isDirectory(dir)) {
            throw new Owl2jException("cannot write " + target + ": directory " + dir
                    + (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) ? " is not a directory" : " does not exist"));
        }
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(abs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return dir;
        } catch (IOException e) {
            throw failure(target, e);
        }
        if (!a.isRegularFile()) {
            throw new Owl2jException("cannot write " + target + ": it exists and is " + kind(a)
                    + ", not a regular file; Owl2J only replaces regular files");
        }
        return dir;
    }

    private static String kind(BasicFileAttributes a) {
        if (a.isSymbolicLink()) return "a symbolic link";
        if (a.isDirectory()) return "a directory";
        return "a device, FIFO or socket";
    }

    /** The temporary file's channel, positioned at 0. */
    public FileChannel channel() {
        return channel;
    }

    /** Writes all of {@code bytes} at the channel's position. */
    public void write(byte[] bytes) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) channel.write(b);
        } catch (IOException e) {
            throw failure(target, e);
        }
    }

    /**
     * Makes the written data durable and puts it in place of the target, atomically. The target is checked again
     * first: if something other than a regular file appeared there meanwhile, nothing is replaced.
     */
    public void commit() {
        if (target == null) {
            throw new IllegalStateException("a scratch file is never committed");
        }
        if (done) {
            throw new IllegalStateException("already committed or closed");
        }
        try {
            channel.force(true);
            channel.close();
            checkTarget(target);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new Owl2jException("cannot write " + target + ": its file system cannot replace files atomically");
            }
            done = true;
        } catch (IOException e) {
            throw failure(target, e);
        } finally {
            if (!done) {
                deleteTemp();
            }
        }
    }

    /** Without a {@link #commit()}: closes and deletes the temporary file; the target is left as it was. */
    @Override
    public void close() {
        if (done) {
            return;
        }
        done = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // the file is deleted next; a close error adds nothing
        }
        deleteTemp();
    }

    private void deleteTemp() {
        try {
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // nothing more can be done; the name is random and hidden, so it cannot be mistaken for the target
        }
    }

    /** Writes {@code bytes} as the whole content of {@code target}, safely. */
    public static void write(Path target, byte[] bytes) {
        try (SafeFileWriter w = create(target)) {
            w.write(bytes);
            w.commit();
        }
    }

    /** Copies the regular file {@code source} to {@code target}, safely. */
    public static void copy(Path source, Path target) {
        try (SafeFileWriter w = create(target); FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) {
            long size = in.size();
            for (long pos = 0; pos < size; ) {
                long n = in.transferTo(pos, size - pos, w.channel);
                if (n <= 0) {
                    throw new IOException("short read from " + source);
                }
                pos += n;
            }
            w.commit();
        } catch (IOException e) {
            throw failure(target, e);
        }
    }

    /** A one-line message for an I/O failure, naming the file and the system's reason. */
    public static Owl2jException failure(Path target, IOException e) {
        String why;
        if (e instanceof AccessDeniedException) {
            why = "permission denied";
        } else if (e instanceof NoSuchFileException) {
            why = "no such file or directory";
        } else if (e instanceof FileSystemException f && f.getReason() != null) {
            why = f.getReason();
        } else {
            why = e.getMessage() == null ? "input/output error" : e.getMessage();
        }
        return new Owl2jException("cannot write " + target + ": " + why, e);
    }

    private static String randomHex() {
        byte[] b = new byte[8];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
