package dev.owl2j.runtime.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.io.SafeFileWriter;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The folder a pull writes into, and every way it touches the disk there. The hub decides the file names, so none
 * of them may land on Owl2J's own records ({@link ModelCache#MANIFEST}, {@link ModelCache#LOCK}) or on another
 * file's {@code .part}; nothing is written through a symbolic link or into anything but a regular file; the
 * folder's sub-folders are real folders inside it; and the folder belongs to one repository: a pull of another
 * one into it is refused, so two ids never share a folder.
 */
final class PullFolder {
    static final String PART = ".part";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    private PullFolder(Path dir) {
        this.dir = dir;
    }

    /** The folder, created if missing (its parent must exist). */
    static PullFolder open(Path dir) {
        SafeFileWriter.ensureDirectory(dir);
        return new PullFolder(dir);
    }

    Path dir() {
        return dir;
    }

    /**
     * Refuses a listing whose names would overwrite Owl2J's records or each other's partial downloads, and files
     * that could not be checked at all (neither a size nor a hash).
     */
    static void checkListing(RepoRef ref, Collection<RemoteFile> files) {
        Set<String> paths = new HashSet<>();
        for (RemoteFile f : files) {
            paths.add(f.path());
        }
        for (RemoteFile f : files) {
            String top = f.path().split("/", 2)[0];
            if (top.equals(ModelCache.MANIFEST) || top.equals(ModelCache.LOCK)) {
                throw new Owl2jException("the hub lists a file " + f.path() + " in " + ref + ", a name Owl2J keeps for"
                        + " its own records; refusing to pull it (leave it out with --include)");
            }
            if (f.path().endsWith(PART) && paths.contains(f.path().substring(0, f.path().length() - PART.length()))) {
                throw new Owl2jException("the hub lists both " + f.path().substring(0, f.path().length() - PART.length())
                        + " and " + f.path() + " in " + ref + "; the second is the name of the first's partial download"
                        + " (leave one out with --include)");
            }
            if (f.size() < 0 && f.sha256() == null && f.gitOid() == null) {
                throw new Owl2jException("the hub lists " + f.path() + " in " + ref + " with neither a size nor a hash,"
                        + " so a download could not be checked; refusing it (leave it out with --include)");
            }
        }
    }

    /** Refuses to mix two repositories (or one repository's two revisions) in one folder. */
    void checkOwner(RepoRef ref) {
        Path manifest = dir.resolve(ModelCache.MANIFEST);
        if (!Files.exists(manifest, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        JsonNode root = readManifestTree();
        if (root == null) {
            return; // unreadable: it only costs re-verification, and it is replaced at the end
        }
        String repo = root.path("repo").asText("");
        String revision = root.path("revision").asText("");
        if (!repo.equals(ref.repo()) || !revision.equals(ref.revision())) {
            throw new Owl2jException(dir + " holds a pull of " + repo + "@" + revision + ", not of " + ref
                    + "; pull into another folder (--dir)");
        }
    }

    /** Holds the folder's lock file open; the caller takes the OS lock on it. */
    FileChannel lockChannel() {
        Path lock = dir.resolve(ModelCache.LOCK);
        requireRegularOrMissing(lock);
        try {
            return FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw SafeFileWriter.failure(lock, e);
        }
    }

    /**
     * Where a repository file goes: inside the folder (no absolute path, no {@code ..}, no backslash), with every
     * folder on the way a real folder (created as needed; a symbolic link there is refused).
     */
    Path target(String repoPath) {
        Path root = dir.normalize();
        Path target;
        try {
            target = dir.resolve(repoPath).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new Owl2jException("the hub listed a file with an unsafe path: " + repoPath);
        }
        if (repoPath.isEmpty() || repoPath.startsWith("/") || repoPath.contains("\\") || !target.startsWith(root)
                || target.equals(root)) {
            throw new Owl2jException("the hub listed a file with an unsafe path: " + repoPath);
        }
        Path at = root;
        for (Path part : root.relativize(target.getParent() == null ? root : target.getParent())) {
            at = at.resolve(part);
            try {
                BasicFileAttributes a = Files.readAttributes(at, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!a.isDirectory()) {
                    throw new Owl2jException("cannot write " + target + ": " + at + " is not a folder"
                            + (a.isSymbolicLink() ? " but a symbolic link" : ""));
                }
            } catch (NoSuchFileException e) {
                try {
                    Files.createDirectory(at);
                } catch (FileAlreadyExistsException raced) {
                    // another worker made it: checked on the next pull's way through; a link is refused there
                } catch (IOException io) {
                    throw SafeFileWriter.failure(at, io);
                }
            } catch (IOException e) {
                throw SafeFileWriter.failure(at, e);
            }
        }
        return target;
    }

    /** The partial download beside {@code target}. */
    static Path partOf(Path target) {
        return target.resolveSibling(target.getFileName() + PART);
    }

    /** Opens (creating if missing) a partial download for reading and writing, never through a link. */
    static FileChannel openPart(Path part) {
        requireRegularOrMissing(part);
        try {
            return FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw SafeFileWriter.failure(part, e);
        }
    }

    /**
     * True when a regular file is at {@code p}, false when nothing is; anything else (a link, a folder, a FIFO, a
     * device) is refused, since reading or writing it could hang, leak or write elsewhere.
     */
    static boolean requireRegularOrMissing(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile()) {
                throw new Owl2jException("cannot write " + p + ": it exists and is "
                        + (a.isSymbolicLink() ? "a symbolic link" : a.isDirectory() ? "a directory" : "a device, FIFO or socket")
                        + ", not a regular file");
            }
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw SafeFileWriter.failure(p, e);
        }
    }

    // --- manifest: the record of a finished pull, and what lets the next run skip re-hashing ---

    private JsonNode readManifestTree() {
        Path manifest = dir.resolve(ModelCache.MANIFEST);
        try {
            if (!requireRegularOrMissing(manifest)) {
                return null;
            }
            return JSON.readTree(Files.readAllBytes(manifest));
        } catch (IOException | RuntimeException e) {
            if (e instanceof Owl2jException o) {
                throw o;
            }
            return null;
        }
    }

    /** The files a previous pull verified, by path (empty when there is no readable manifest). */
    Map<String, RemoteFile> readManifest() {
        Map<String, RemoteFile> files = new HashMap<>();
        JsonNode root = readManifestTree();
        if (root == null) {
            return files;
        }
        for (JsonNode n : root.path("files")) {
            RemoteFile f = new RemoteFile(n.path("path").asText(), n.path("size").asLong(-1),
                    n.hasNonNull("sha256") ? n.get("sha256").asText() : null,
                    n.hasNonNull("gitOid") ? n.get("gitOid").asText() : null);
            files.put(f.path(), f);
        }
        return files;
    }

    /** Records a finished pull; files of an earlier pull with another {@code --include} stay recorded. */
    void writeManifest(RepoRef ref, String commit, String endpoint, Map<String, RemoteFile> previous,
                       List<RemoteFile> selected) {
        Map<String, RemoteFile> all = new TreeMap<>();
        for (RemoteFile f : previous.values()) {
            if (Files.isRegularFile(dir.resolve(f.path()), LinkOption.NOFOLLOW_LINKS)) {
                all.put(f.path(), f);
            }
        }
        for (RemoteFile f : selected) {
            all.put(f.path(), f);
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("repo", ref.repo());
        root.put("revision", ref.revision());
        root.put("commit", commit);
        root.put("endpoint", endpoint);
        ArrayNode files = root.putArray("files");
        for (RemoteFile f : all.values()) {
            ObjectNode n = files.addObject();
            n.put("path", f.path());
            n.put("size", f.size());
            n.put("sha256", f.sha256());
            n.put("gitOid", f.gitOid());
        }
        try {
            SafeFileWriter.write(dir.resolve(ModelCache.MANIFEST), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
        } catch (IOException e) {
            throw SafeFileWriter.failure(dir.resolve(ModelCache.MANIFEST), e);
        }
    }
}
