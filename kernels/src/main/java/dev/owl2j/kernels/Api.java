package dev.owl2j.kernels;

import java.util.Locale;

/** The compute API a device is driven through; JAVA runs kernels written in Java on the JVM itself. */
public enum Api {
    OPENCL, CUDA, VULKAN, JAVA;

    /** Lower-case name used on the command line and in reports ("opencl", "cuda", "vulkan"). */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Api parse(String s) {
        for (Api a : values()) {
            if (a.id().equalsIgnoreCase(s)) return a;
        }
        throw new DeviceException("unknown compute API '" + s + "' (expected opencl, cuda, vulkan or java)");
    }
}
