package dev.owl2j.runtime.engine;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;

/** Opens an engine on the backend the user asked for ("auto" = CUDA, else an OpenCL GPU, else the CPU). */
public final class Engines {
    private Engines() {}

    public static Engine open(TensorSource weights, Owl2Config config, String backend, int device, DType quant) {
        String chosen = backend.equals("auto") ? "cpu" : backend;
        if (quant != null) {
            throw new Owl2jException("--quant is not available in this build yet");
        }
        return switch (chosen) {
            case "cpu" -> new CpuEngine(weights, config, dev.owl2j.model.cpu.SimpleLinear::new, storedType(weights));
            case "opencl", "cuda" -> throw new Owl2jException("the " + chosen + " backend is not available in this build yet: use --backend cpu");
            default -> throw new Owl2jException("unknown backend '" + backend + "': use auto, cpu, opencl or cuda");
        };
    }

    /** The dtype of the decoder's first weight, for descriptions ("F16"). */
    static String storedType(TensorSource weights) {
        String probe = "model.layers.0.mlp.gate_proj.weight";
        return weights.contains(probe) ? weights.get(probe).dtype().toString() : "mixed";
    }
}
