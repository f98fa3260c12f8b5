package dev.owl2j.runtime.model;

import dev.owl2j.model.Settings;

import java.nio.file.Path;

/** Where Owl2J keeps generated and downloaded models: {@link Settings#home} ($OWL2J_HOME, else ~/.cache/owl2j). */
public final class OwlHome {
    private OwlHome() {}

    public static Path dir() {
        return Settings.fromSystem().home();
    }
}
