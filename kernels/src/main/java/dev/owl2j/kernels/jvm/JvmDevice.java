package dev.owl2j.kernels.jvm;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;

import java.lang.management.ManagementFactory;

/**
 * The JVM as a compute device: kernels written in Java run as Java (the reference every device is tested
 * against, and a way to debug a kernel with a Java debugger, with no driver installed). Buffers are off-heap
 * memory; work groups run on the machine's cores.
 */
public final class JvmDevice implements Device {
    public static final JvmDevice INSTANCE = new JvmDevice();

    private JvmDevice() {}

    @Override public Api api() { return Api.JAVA; }
    @Override public int index() { return 0; }
    @Override public String name() { return "JVM"; }

    @Override
    public String driver() {
        return "Java " + Runtime.version().feature() + " (" + System.getProperty("java.vm.name", "?") + "), "
                + computeUnits() + " threads";
    }

    /** Physical memory of the machine (buffers are off-heap). */
    @Override
    public long memoryBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }

    @Override public int computeUnits() { return Runtime.getRuntime().availableProcessors(); }
    @Override public boolean gpu() { return false; }
    @Override public boolean fp16LoadStore() { return true; }
    @Override public boolean fp16Arithmetic() { return false; }
    @Override public boolean subgroups() { return false; }
    @Override public boolean tensorCores() { return false; }

    @Override
    public ComputeContext open() {
        return new JvmContext(this);
    }
}
