package dev.owl2j.kernels.vulkan;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Runs Khronos' {@code spirv-val} (Debian package spirv-tools) on a module for the Vulkan 1.1 environment the
 * kernels target. Skips where the tool is missing, except on CI, where that is a failure.
 */
final class SpirvVal {
    private SpirvVal() {}

    static boolean available() {
        try {
            Process p = new ProcessBuilder("spirv-val", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static void requireTool() {
        boolean ok = available();
        if (System.getenv("CI") != null && !ok) throw new AssertionError("CI needs spirv-val (apt-get install spirv-tools)");
        Assumptions.assumeTrue(ok, "spirv-val not installed (apt-get install spirv-tools)");
    }

    /** Fails with spirv-val's message when the module is invalid. */
    static void validate(String name, byte[] spirv) throws IOException, InterruptedException {
        Path f = Files.createTempFile("owl2j-" + name.replaceAll("[^A-Za-z0-9_]", "_"), ".spv");
        try {
            Files.write(f, spirv);
            Process p = new ProcessBuilder("spirv-val", "--target-env", "vulkan1.1", f.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), "spirv-val rejects " + name + ": " + out);
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
