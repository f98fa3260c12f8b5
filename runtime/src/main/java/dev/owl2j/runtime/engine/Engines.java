package dev.owl2j.runtime.engine;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.Settings;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.kernel.Linears;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.runtime.engine.device.DeviceEngine;

/**
 * Opens an engine on the backend the user asked for ("auto" = CUDA, else a discrete GPU through Vulkan, else an
 * OpenCL GPU, else the CPU; {@link DeviceEngine#autoBackend()}).
 */
public final class Engines {
    private Engines() {}

    /** Opens the backend with the process's settings ({@link Settings#fromSystem}). */
    public static Engine open(TensorSource weights, Owl2Config config, String backend, int device, DType quant) {
        return open(weights, config, backend, device, quant, Settings.fromSystem());
    }

    public static Engine open(TensorSource weights, Owl2Config config, String backend, int device, DType quant, Settings settings) {
        String chosen = backend.equals("auto") ? DeviceEngine.autoBackend() : backend;
        return switch (chosen) {
            case "cpu" -> new CpuEngine(weights, config, Linears.factory(quant),
                    quant == null ? storedType(weights) : quant + " decoder projections, " + storedType(weights) + " rest,", settings);
            case "opencl", "cuda", "vulkan", "java" -> DeviceEngine.open(weights, config, chosen, device, quant, settings.tensorCores());
            default -> throw new Owl2jException("unknown backend '" + backend + "': use auto, cpu, opencl, cuda, vulkan or java");
        };
    }

    /** The dtype of the decoder's first weight, for descriptions ("F16"). */
    static String storedType(TensorSource weights) {
        String probe = ExpectedTensors.decoderLayer(0).gateProj();
        return weights.contains(probe) ? weights.get(probe).dtype().toString() : "mixed";
    }
}
