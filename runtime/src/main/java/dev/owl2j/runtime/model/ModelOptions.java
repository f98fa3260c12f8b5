package dev.owl2j.runtime.model;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tensor.DType;
import picocli.CommandLine.Option;

import java.util.Locale;

/** The options every command that loads a model shares (picocli mixin): which model, on which backend. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR|ID",
            description = "Checkpoint directory, or a repository id pulled with 'owl2j pull'. Default: the embedded random model.")
    public String model;

    @Option(names = "--backend", paramLabel = "auto|cpu|opencl|cuda", defaultValue = "auto",
            description = "Where the model runs (default: ${DEFAULT-VALUE}: CUDA, else an OpenCL GPU, else the CPU).")
    public String backend = "auto";

    @Option(names = "--device", paramLabel = "N", defaultValue = "0", description = "Device index for opencl/cuda.")
    public int device;

    @Option(names = "--quant", paramLabel = "q8_0|q4_0",
            description = "Quantize the decoder's linear weights at load (block-32, F16 scales).")
    public String quant;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores).")
    public Integer threads;

    /** The requested quantization, or null to keep the stored types. */
    public DType quantType() {
        return parseQuant(quant);
    }

    public static DType parseQuant(String quant) {
        if (quant == null || quant.isBlank() || quant.equalsIgnoreCase("none")) {
            return null;
        }
        return switch (quant.toLowerCase(Locale.ROOT)) {
            case "q8_0", "q8" -> DType.Q8_0;
            case "q4_0", "q4" -> DType.Q4_0;
            default -> throw new Owl2jException("unknown --quant '" + quant + "': use q8_0 or q4_0");
        };
    }

    public String backendName() {
        String b = backend == null ? "auto" : backend.toLowerCase(Locale.ROOT);
        if (!b.equals("auto") && !b.equals("cpu") && !b.equals("opencl") && !b.equals("cuda")) {
            throw new Owl2jException("unknown --backend '" + backend + "': use auto, cpu, opencl or cuda");
        }
        return b;
    }
}
