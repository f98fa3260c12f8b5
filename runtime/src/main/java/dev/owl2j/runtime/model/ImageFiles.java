package dev.owl2j.runtime.model;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.io.SafeFileWriter;
import dev.owl2j.runtime.server.ServerOptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;

/**
 * Image files named on the command line. Only regular files are read (a FIFO would block forever, a device such as
 * {@code /dev/zero} would be read until memory runs out), at most {@link #MAX_BYTES} each, the same limit the
 * server puts on an uploaded image; {@link #check} runs before a model loads, so a wrong path costs nothing.
 */
public final class ImageFiles {
    /** Encoded bytes per image, as the server's default {@code maxImageBytes}. */
    public static final int MAX_BYTES = ServerOptions.defaults().maxImageBytes();

    private ImageFiles() {}

    /** Refuses a path that is missing, not a regular file, or over {@link #MAX_BYTES}. */
    public static void check(List<Path> images) {
        for (Path p : images) {
            check(p);
        }
    }

    public static long check(Path image) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(image, BasicFileAttributes.class); // a link to an image is fine: followed
        } catch (NoSuchFileException e) {
            throw new Owl2jException("image " + image + " does not exist");
        } catch (IOException e) {
            throw new Owl2jException("cannot read image " + image + ": " + reason(image, e));
        }
        if (!a.isRegularFile()) {
            throw new Owl2jException("image " + image + " is " + (a.isDirectory() ? "a directory" : "a device, FIFO or socket")
                    + ", not a regular file");
        }
        if (a.size() > MAX_BYTES) {
            throw new Owl2jException("image " + image + " is " + a.size() + " bytes, over the limit of " + MAX_BYTES
                    + " (20 MiB)");
        }
        return a.size();
    }

    private static String reason(Path image, IOException e) {
        String m = SafeFileWriter.failure(image, e).getMessage();
        return m.substring(m.lastIndexOf(": ") + 2);
    }

    /** The file's bytes, after {@link #check}; reading stops past the limit even if the file grows meanwhile. */
    public static byte[] read(Path image) {
        check(image);
        try (InputStream in = Files.newInputStream(image)) {
            byte[] data = in.readNBytes(MAX_BYTES + 1);
            if (data.length > MAX_BYTES) {
                throw new Owl2jException("image " + image + " grew over the limit of " + MAX_BYTES + " bytes while being read");
            }
            return data;
        } catch (IOException e) {
            throw new Owl2jException("cannot read image " + image + ": " + reason(image, e));
        }
    }
}
