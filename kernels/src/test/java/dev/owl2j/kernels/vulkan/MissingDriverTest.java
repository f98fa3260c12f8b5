package dev.owl2j.kernels.vulkan;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A machine whose Vulkan driver is missing or broken lists no Vulkan device with a one-line reason, and asking
 * for one is a one-line DeviceException; nothing crashes. The loader reads its driver list from the environment
 * at start, so each case runs in a child JVM with VK_ICD_FILENAMES / VK_DRIVER_FILES pointing at nothing or at a
 * manifest whose library is not a driver.
 */
class MissingDriverTest {
    private static List<String> probe(String icd) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), VulkanProbe.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("VK_ICD_FILENAMES", icd);
        pb.environment().put("VK_DRIVER_FILES", icd);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "the probe JVM must not crash: " + out);
        return out.lines().filter(l -> l.startsWith("devices=") || l.startsWith("error=") || l.startsWith("opened ")).toList();
    }

    private static void assertNoDeviceWithOneLineReasons(List<String> lines) {
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("devices=0 reason=") && !lines.get(0).endsWith("reason=null"), lines.get(0));
        assertTrue(lines.get(1).startsWith("error=no vulkan device 0 (found 0): "), lines.get(1));
    }

    @Test
    void noDriverAtAll() throws Exception {
        assertNoDeviceWithOneLineReasons(probe("/nonexistent/owl2j-no-driver.json"));
    }

    @Test
    void aDriverManifestWhoseLibraryIsNotADriver() throws Exception {
        Path dir = Files.createTempDirectory("owl2j-icd");
        Path lib = Files.writeString(dir.resolve("libnot_a_driver.so"), "this is not a shared library");
        Path json = Files.writeString(dir.resolve("broken_icd.json"),
                "{\"file_format_version\": \"1.0.0\", \"ICD\": {\"library_path\": \"" + lib + "\", \"api_version\": \"1.3.0\"}}");
        assertNoDeviceWithOneLineReasons(probe(json.toString()));
    }
}
