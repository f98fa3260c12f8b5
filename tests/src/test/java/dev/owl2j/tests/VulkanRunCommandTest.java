package dev.owl2j.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code owl2j run --backend vulkan} end to end: the fixture's image files in, the reference's greedy tokens out
 * (lavapipe on CI); and a machine whose Vulkan driver is missing gets one line, not a crash.
 */
class VulkanRunCommandTest {
    /** One image prompt: lavapipe takes tens of CPU seconds per image; the two-image prompt runs on the CPU in RunCommandTest. */
    @Test
    void vulkanBackendGivesTheReferenceTokens() throws Exception {
        String name = "prompt0";
        if (System.getenv("CI") == null) {
            org.junit.jupiter.api.Assumptions.assumeFalse(
                    dev.owl2j.kernels.Devices.of(dev.owl2j.kernels.Api.VULKAN).isEmpty(), "no Vulkan device");
        }
        List<String> args = RunCommandTest.runArgs(name, "--output", "json");
        args.set(args.indexOf("cpu"), "vulkan");
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        JsonNode ids = new ObjectMapper().readTree(r.out().strip()).get("ids");
        long[] want = RunCommandTest.golden.get(name + ".greedy_tokens").toLongArray();
        assertEquals(want.length, ids.size());
        for (int i = 0; i < want.length; i++) assertEquals(want[i], ids.get(i).asLong(), name + " token " + i);
    }

    /** The loader reads its driver list at start, so the missing driver is a child JVM's environment. */
    @Test
    void aMissingVulkanDriverIsAOneLineError() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), "dev.owl2j.runtime.cli.Owl2jCommand"));
        List<String> args = RunCommandTest.runArgs("prompt1");
        args.set(args.indexOf("cpu"), "vulkan");
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("VK_ICD_FILENAMES", "/nonexistent/owl2j-no-driver.json");
        pb.environment().put("VK_DRIVER_FILES", "/nonexistent/owl2j-no-driver.json");
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                .lines().filter(l -> !l.contains("Using incubator modules")).collect(java.util.stream.Collectors.joining("\n"));
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "child JVM finished");
        RunCommandTest.assertOneLineError(new Cli.Result(p.exitValue(), "", err), "no vulkan device 0 (found 0): no usable Vulkan driver");
    }
}
