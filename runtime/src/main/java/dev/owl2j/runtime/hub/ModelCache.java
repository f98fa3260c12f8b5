package dev.owl2j.runtime.hub;

import dev.owl2j.model.Settings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where pulled models live: {@code <root>/models/<org>--<name>/<revision>/}, with root {@code $OWL2J_HOME} or
 * {@code ~/.cache/owl2j}. A folder counts as pulled once it holds {@link #MANIFEST}, written at the end of a
 * pull in which every selected file was downloaded and verified.
 */
public final class ModelCache {
    public static final String HOME_ENV = "OWL2J_HOME";
    public static final String MANIFEST = ".owl2j-pull.json";
    /** Held (an OS file lock) while a pull writes into a folder, so two pulls never write the same .part. */
    public static final String LOCK = ".owl2j-pull.lock";

    private ModelCache() {}

    /** The cache root with {@code env} as the environment: {@link Settings#home} ({@code $OWL2J_HOME}, else {@code ~/.cache/owl2j}). */
    public static Path root(Map<String, String> env) {
        return Settings.fromSystem(env).home();
    }

    /** The folder a pull of {@code ref} writes to by default. */
    public static Path modelDir(Path root, RepoRef ref) {
        return root.resolve("models").resolve(ref.folderName()).resolve(ref.revisionFolderName());
    }

    /** True when {@code dir} holds a finished pull. */
    public static boolean isPulled(Path dir) {
        return Files.isRegularFile(dir.resolve(MANIFEST));
    }
}
