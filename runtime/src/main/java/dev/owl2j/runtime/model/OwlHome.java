package dev.owl2j.runtime.model;

import java.nio.file.Path;

/** Where Owl2J keeps generated and downloaded models: $OWL2J_HOME, else ~/.cache/owl2j. */
public final class OwlHome {
    private OwlHome() {}

    public static Path dir() {
        String prop = System.getProperty("owl2j.cacheHome");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv("OWL2J_HOME");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "owl2j");
    }
}
