package dev.owl2j.runtime.hub;

import dev.owl2j.model.Owl2jException;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;

/** Turns what a user typed as the model ({@code --model X}) into a checkpoint folder. */
public final class ModelLocator {
    private ModelLocator() {}

    /** {@link #resolve(String, Map)} with the process environment. */
    public static Path resolve(String modelArg) {
        return resolve(modelArg, System.getenv());
    }

    /**
     * A folder path if one exists there; else a repository id {@code org/name[@revision]} that has been pulled
     * into the cache ({@code $OWL2J_HOME}, read from {@code env}, or {@code ~/.cache/owl2j}); else an
     * {@link Owl2jException} saying how to pull it.
     */
    public static Path resolve(String modelArg, Map<String, String> env) {
        if (modelArg == null || modelArg.isBlank()) {
            throw new Owl2jException("no model given: pass a checkpoint folder or a pulled org/name");
        }
        try {
            Path dir = Path.of(modelArg);
            if (Files.isDirectory(dir)) {
                return dir;
            }
        } catch (InvalidPathException ignored) {
            // not a path; maybe an id
        }
        if (RepoRef.looksLikeId(modelArg)) {
            Path dir = ModelCache.modelDir(ModelCache.root(env), RepoRef.parse(modelArg));
            if (Files.isDirectory(dir) && ModelCache.isPulled(dir)) {
                return dir;
            }
            throw new Owl2jException("model " + modelArg + " not found: not a directory, and not pulled (run: owl2j pull "
                    + modelArg + ")");
        }
        throw new Owl2jException("model directory not found: " + modelArg);
    }
}
