package dev.owl2j.runtime.hub;

import dev.owl2j.model.Owl2jException;

import java.util.regex.Pattern;

/**
 * A Hugging Face model repository at one revision, as written on the command line: {@code org/name[@revision]}.
 *
 * @param repo     {@code org/name}
 * @param revision a branch, tag or commit ({@code main} when not given)
 */
public record RepoRef(String repo, String revision) {
    public static final String DEFAULT_REVISION = "main";

    // The hub's own rules for names: letters, digits, '-', '_', '.'; no "--" or ".."; no '-' or '.' at either end of
    // a name. They also keep every name safe as one folder name, and make org--name a one-to-one folder name.
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?");
    private static final Pattern REPO = Pattern.compile(NAME.pattern() + "/" + NAME.pattern());
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");

    public RepoRef {
        if (repo == null || !REPO.matcher(repo).matches() || repo.contains("..") || repo.contains("--")) {
            throw new Owl2jException("bad model repository id '" + repo + "': expected org/name, e.g. MAGAer13/mplug-owl2-llama2-7b");
        }
        if (revision == null || !REVISION.matcher(revision).matches()) {
            throw new Owl2jException("bad revision '" + revision + "' for " + repo + ": expected a branch, tag or commit");
        }
        for (String segment : revision.split("/")) {
            if (segment.equals(".") || segment.equals("..")) {
                throw new Owl2jException("bad revision '" + revision + "' for " + repo + ": '.' and '..' are not allowed");
            }
        }
    }

    /** Parses {@code org/name[@revision]}; an id without {@code @} gets {@link #DEFAULT_REVISION}. */
    public static RepoRef parse(String id) {
        if (id == null) {
            throw new Owl2jException("missing model repository id (expected org/name)");
        }
        int at = id.indexOf('@');
        return at < 0 ? new RepoRef(id, DEFAULT_REVISION) : new RepoRef(id.substring(0, at), id.substring(at + 1));
    }

    /** True when {@code id} is shaped like {@code org/name[@revision]} (it may still name nothing). */
    public static boolean looksLikeId(String id) {
        try {
            parse(id);
            return true;
        } catch (Owl2jException e) {
            return false;
        }
    }

    /** The repository as one folder name: {@code org--name} (one-to-one: names hold no "--" and never end in '-'). */
    public String folderName() {
        return repo.replace("/", "--");
    }

    /**
     * The revision as one folder name: {@code refs/pr/1} becomes {@code refs%2Fpr%2F1}. One-to-one, since a
     * revision never holds '%' (a branch may hold "--", so that could not stand for '/').
     */
    public String revisionFolderName() {
        return revision.replace("/", "%2F");
    }

    @Override
    public String toString() {
        return repo + "@" + revision;
    }
}
