package dev.owl2j.kernels;

import dev.owl2j.kernels.vulkan.Lavapipe;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same kernels on a Vulkan context without 16-bit storage and shaderFloat64, the paths of devices that lack
 * them: shorts read and written through 32-bit words (atomics keep the neighbouring half), doubles as floats.
 * A kernel with a DoubleArray parameter cannot run there and says so.
 */
class VulkanKernelLanguageFallbackTest extends KernelLanguageTest {
    @Override
    ComputeContext device() {
        return Lavapipe.plainContext();
    }

    @Override
    @Test
    void doublesStayDoubleWhereTheDeviceHasThem() {
        Program p = device().compile(PROGRAM, "");
        DeviceException e = assertThrows(DeviceException.class, () -> p.kernel("doubles"));
        assertTrue(e.getMessage().contains("takes a DoubleArray (a), which needs shaderFloat64"), e.getMessage());
    }
}
