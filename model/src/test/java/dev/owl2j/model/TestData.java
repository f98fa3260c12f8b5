package dev.owl2j.model;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the repository's testdata/ folder (set by Surefire; falls back to walking up from the working dir). */
public final class TestData {
    private TestData() {}

    public static Path root() {
        String prop = System.getProperty("owl2j.testdata");
        if (prop != null && Files.isDirectory(Path.of(prop))) {
            return Path.of(prop);
        }
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve("testdata"))) {
                return p.resolve("testdata");
            }
            p = p.getParent();
        }
        throw new IllegalStateException("testdata/ not found");
    }

    public static Path tinyFixture() {
        return root().resolve("tiny-owl2-f16");
    }

    public static Path golden() {
        return tinyFixture().resolve("golden/golden.safetensors");
    }
}
