package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.Devices;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;

/**
 * The first Vulkan device (Mesa's lavapipe on CI: {@code apt-get install mesa-vulkan-drivers}); tests skip when
 * the machine has none, except on CI (CI=true), where a missing device is a failure. Kernel cache in a temp dir.
 */
public final class Lavapipe {
    private static VulkanContext ctx;
    private static VulkanContext plain;

    private Lavapipe() {}

    public static synchronized VulkanContext context() {
        if (ctx == null) {
            useTempCache();
            List<Device> ds = Devices.of(Api.VULKAN);
            if (System.getenv("CI") == null) {
                Assumptions.assumeFalse(ds.isEmpty(), "no Vulkan device (install mesa-vulkan-drivers): " + Devices.unavailableReason(Api.VULKAN));
            } else if (ds.isEmpty()) {
                throw new AssertionError("CI needs a Vulkan device (lavapipe): " + Devices.unavailableReason(Api.VULKAN));
            }
            ctx = (VulkanContext) ds.get(0).open();
        }
        return ctx;
    }

    /** A second context on the same device without 16-bit storage and fp64 (the other kernel paths). */
    public static synchronized VulkanContext plainContext() {
        if (plain == null) plain = (VulkanContext) context().vulkanDevice().openWithoutOptionalFeatures();
        return plain;
    }

    static void useTempCache() {
        if (System.getProperty("owl2j.kernelCache") == null) {
            try {
                System.setProperty("owl2j.kernelCache", Files.createTempDirectory("owl2j-kcache").toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static String resource(String name) {
        try (InputStream in = Lavapipe.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("test resource " + name + " is missing");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
