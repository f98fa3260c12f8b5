package dev.owl2j.tests;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Looking for GPU drivers is silent: on a machine without OpenCL, CUDA or Vulkan (made here by pointing LWJGL at library
 * names that exist nowhere, in a child JVM) a run prints nothing about drivers, and {@code owl2j devices} says
 * what is missing and how to get it.
 */
class QuietStartTest {
    static final String NO_OPENCL = "-Dorg.lwjgl.opencl.libname=libowl2j-test-no-such-opencl.so.1";
    static final String NO_CUDA = "-Dorg.lwjgl.cuda.libname=libowl2j-test-no-such-cuda.so.1";
    static final String NO_VULKAN = "-Dorg.lwjgl.vulkan.libname=libowl2j-test-no-such-vulkan.so.1";

    record Child(int code, String out, String err) {}

    static Child child(Map<String, String> env, List<String> jvmFlags, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow")); // as the launcher runs it
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.owl2j.runtime.cli.Owl2jCommand"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        Process p = pb.start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines()
                .filter(l -> !l.contains("Using incubator modules")).collect(Collectors.joining("\n"));
        int code = p.waitFor();
        return new Child(code, new String(out.get(), StandardCharsets.UTF_8), err);
    }

    private static byte[] readAll(java.io.InputStream in) {
        try {
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void devicesSaysWhatIsMissingAndPrintsNothingElse() throws Exception {
        Child c = child(Map.of(), List.of(NO_OPENCL, NO_CUDA, NO_VULKAN), "devices");
        assertEquals(0, c.code(), c.err());
        assertEquals("", c.err(), "nothing on stderr");
        assertTrue(c.out().contains("opencl  none: no OpenCL loader: libowl2j-test-no-such-opencl.so.1 not found (install one"), c.out());
        assertTrue(c.out().contains("cuda    none: no CUDA driver: libowl2j-test-no-such-cuda.so.1 not found"), c.out());
        assertTrue(c.out().contains("vulkan  none: no Vulkan loader: libowl2j-test-no-such-vulkan.so.1 not found"), c.out());
        assertTrue(c.out().contains("auto backend: cpu"), c.out());
    }

    @Test
    void anAutoBackendRunWithoutDriversPrintsOnlyTheDefaultModelNotice(@TempDir Path home) throws Exception {
        Child c = child(Map.of(), List.of(NO_OPENCL, NO_CUDA, NO_VULKAN, "-Dowl2j.cacheHome=" + home),
                "run", "--backend", "auto", "--prompt", "hi", "--max-new-tokens", "1", "--temperature", "0");
        assertEquals(0, c.code(), c.err());
        assertFalse(c.err().contains("LWJGL") || c.err().contains("Failed to load"), c.err());
        assertEquals(List.of("owl2j: no --model given: using the embedded default model (random weights: its answers are noise)"),
                c.err().lines().toList());
    }

    @Test
    void aLoaderWithoutAnyDriverIsNamedAsSuch(@TempDir Path emptyVendors) throws Exception {
        Child probe = child(Map.of(), List.of(NO_CUDA, NO_VULKAN), "devices");
        if (probe.out().contains("no OpenCL loader")) {
            String why = "this machine has no OpenCL loader (libOpenCL.so.1), so a loader without drivers cannot be shown";
            System.out.println("[QuietStartTest] skipped: " + why);
            Assumptions.abort(why);
        }
        // ocl-icd reads the drivers from OCL_ICD_VENDORS instead of /etc/OpenCL/vendors: an empty folder means none
        Child c = child(Map.of("OCL_ICD_VENDORS", emptyVendors.toString()), List.of(NO_CUDA, NO_VULKAN), "devices");
        assertEquals(0, c.code(), c.err());
        assertEquals("", c.err());
        assertTrue(c.out().contains("opencl  none: the OpenCL loader found no driver"), c.out());
    }
}
