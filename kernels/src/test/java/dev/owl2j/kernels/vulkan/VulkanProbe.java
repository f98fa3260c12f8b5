package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.Devices;

/** Child-JVM probe for {@link MissingDriverTest}: lists Vulkan devices, then tries to open device 0; prints one line each. */
public final class VulkanProbe {
    private VulkanProbe() {}

    public static void main(String[] args) {
        var ds = Devices.of(Api.VULKAN);
        System.out.println("devices=" + ds.size() + " reason=" + Devices.unavailableReason(Api.VULKAN));
        try {
            Device d = Devices.get(Api.VULKAN, 0);
            d.open().close();
            System.out.println("opened " + d.name());
        } catch (DeviceException e) {
            System.out.println("error=" + e.getMessage());
        }
    }
}
