package dev.owl2j.runtime.cli;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.Devices;
import dev.owl2j.runtime.engine.device.DeviceEngine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;

/** {@code owl2j devices}: the CUDA, OpenCL and Vulkan devices this machine offers and the backend "auto" would pick. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List CUDA, OpenCL and Vulkan compute devices, say what is missing when there are none, and which backend --backend auto picks.")
public final class DevicesCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        for (Api api : Api.values()) {
            List<Device> ds = Devices.of(api);
            if (ds.isEmpty()) {
                String why = Devices.unavailableReason(api);
                out.printf("%-7s none%s%n", api.id(), why != null ? ": " + why : "");
                continue;
            }
            for (Device d : ds) {
                // Vulkan reports no compute-unit count; its features name the device type and subgroup size instead.
                String units = d.computeUnits() > 0 ? String.format("%4d CUs", d.computeUnits()) : "        ";
                out.printf("%-7s %d  %-40s %-3s %s %8.1f GiB  [%s]  %s%n", api.id(), d.index(), d.name(),
                        d.gpu() ? "GPU" : "CPU", units, d.memoryBytes() / (double) (1L << 30),
                        d.features(), d.driver());
            }
        }
        out.println("auto backend: " + DeviceEngine.autoBackend());
        out.flush();
    }
}
