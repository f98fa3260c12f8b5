package dev.owl2j.runtime.model;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tensor.DType;
import picocli.CommandLine.Option;

import dev.owl2j.runtime.hub.ModelLocator;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/** The options every command that loads a model shares (picocli mixin): which model, on which backend. */
public final class ModelOptions {
    /** The --model help every command shows. */
    public static final String MODEL_HELP = "A checkpoint folder, or a repository id pulled with 'owl2j pull' (org/name[@revision])."
            + " Default: the embedded random model in $OWL2J_HOME/default-model-" + DefaultModel.VERSION + " (OWL2J_HOME defaults to ~/.cache/owl2j).";

    @Option(names = "--model", paramLabel = "DIR|ID",
            description = MODEL_HELP)
    public String model;

    @Option(names = "--backend", paramLabel = "auto|cpu|opencl|cuda|vulkan|java", defaultValue = "auto",
            description = "Where the model runs (default: ${DEFAULT-VALUE}: CUDA, else a discrete GPU through Vulkan, else an OpenCL GPU, else the CPU; java: the device kernels as Java on the JVM, slow, the reference).")
    public String backend = "auto";

    @Option(names = "--device", paramLabel = "N", defaultValue = "0", description = "Device index for opencl/cuda/vulkan.")
    public int device;

    @Option(names = "--quant", paramLabel = "q8_0|q4_0",
            description = "Quantize the decoder's linear weights at load (block-32, F16 scales).")
    public String quant;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads (default: all cores).")
    public Integer threads;

    /** Where a {@code --model} value points: the folder, the name it goes by, and whether it is the embedded default. */
    public record Located(Path dir, String id, boolean embeddedDefault) {}

    /**
     * The one way every command turns {@code --model} into a folder: a checkpoint folder, else a repository id
     * pulled into the cache ({@link ModelLocator}); none at all means the embedded default ({@link DefaultModel},
     * made on first use), announced on {@code log} because its answers are noise.
     */
    public static Located locate(String model, PrintStream log) {
        if (model == null || model.isBlank()) {
            if (log != null) {
                log.println(DefaultModel.NOTICE);
                log.flush();
            }
            return new Located(DefaultModel.ensure(), DefaultModel.ID, true);
        }
        return new Located(ModelLocator.resolve(model), model, false);
    }

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
        if (!b.equals("auto") && !b.equals("cpu") && !b.equals("opencl") && !b.equals("cuda") && !b.equals("vulkan") && !b.equals("java")) {
            throw new Owl2jException("unknown --backend '" + backend + "': use auto, cpu, opencl, cuda, vulkan or java");
        }
        return b;
    }
}
