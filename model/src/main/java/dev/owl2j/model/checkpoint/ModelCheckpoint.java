package dev.owl2j.model.checkpoint;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors.Component;
import dev.owl2j.model.checkpoint.ExpectedTensors.Expected;
import dev.owl2j.model.checkpoint.ExpectedTensors.Presence;
import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.config.PreprocessorConfig;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.format.ShardedTensorSource;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.format.TorchZipCheckpoint;
import dev.owl2j.model.tensor.DType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A model directory: weights in any supported format plus {@code config.json}, and optionally
 * {@code preprocessor_config.json} and {@code generation_config.json} (defaults when absent). Opening it
 * validates every tensor against {@link ExpectedTensors}: a missing or mis-shaped tensor is an error naming
 * it; tensors the config does not expect are listed in the report (an error only when strict).
 *
 * <p>Weight files are looked for in this order: {@code model.safetensors.index.json},
 * {@code model.safetensors}, {@code pytorch_model.bin.index.json}, {@code pytorch_model.bin}.
 */
public final class ModelCheckpoint implements AutoCloseable {
    public static final List<String> WEIGHT_FILES = List.of("model.safetensors.index.json", "model.safetensors",
            "pytorch_model.bin.index.json", "pytorch_model.bin");

    private final Path dir;
    private final Owl2Config config;
    private final PreprocessorConfig preprocessor;
    private final GenerationConfig generation;
    private final ComputedBuffers tensors;
    private final CheckpointReport report;

    private ModelCheckpoint(Path dir, Owl2Config config, PreprocessorConfig preprocessor, GenerationConfig generation,
                            ComputedBuffers tensors, CheckpointReport report) {
        this.dir = dir;
        this.config = config;
        this.preprocessor = preprocessor;
        this.generation = generation;
        this.tensors = tensors;
        this.report = report;
    }

    public static ModelCheckpoint open(Path dir) {
        return open(dir, false);
    }

    /** @param strict also refuse tensors the config does not expect */
    public static ModelCheckpoint open(Path dir, boolean strict) {
        if (!Files.isDirectory(dir)) {
            throw new Owl2jException("model directory not found: " + dir);
        }
        Owl2Config config = Owl2Config.read(dir.resolve("config.json"));
        Path pre = dir.resolve("preprocessor_config.json");
        PreprocessorConfig preprocessor = Files.isRegularFile(pre) ? PreprocessorConfig.read(pre) : PreprocessorConfig.clip448();
        GenerationConfig generation = GenerationConfig.readOrDefault(dir.resolve("generation_config.json"));
        preprocessor.checkFits(config.vision(), pre.toString());
        generation.checkIds(config.vocabSize(), dir.resolve("generation_config.json").toString());

        TensorSource stored = null;
        List<Path> files = new ArrayList<>();
        try {
            stored = openWeights(dir, files);
            ComputedBuffers withBuffers = ComputedBuffers.over(stored, config);
            stored = withBuffers;
            CheckpointReport report = validate(config, withBuffers, files, strict);
            return new ModelCheckpoint(dir, config, preprocessor, generation, withBuffers, report);
        } catch (RuntimeException e) {
            if (stored != null) stored.close();
            throw e;
        }
    }

    private static TensorSource openWeights(Path dir, List<Path> files) {
        for (String name : WEIGHT_FILES) {
            Path p = dir.resolve(name);
            if (!Files.isRegularFile(p)) continue;
            if (name.endsWith(".index.json")) {
                ShardedTensorSource s = ShardedTensorSource.open(p);
                files.addAll(s.shardFiles().stream().map(Path::toAbsolutePath).toList());
                return s;
            }
            files.add(p.toAbsolutePath());
            return name.endsWith(".safetensors") ? SafetensorsFile.open(p) : TorchZipCheckpoint.open(p);
        }
        throw new Owl2jException("no weights in " + dir + " (looked for " + String.join(", ", WEIGHT_FILES) + ")");
    }

    private static CheckpointReport validate(Owl2Config config, ComputedBuffers src, List<Path> files, boolean strict) {
        ExpectedTensors expected = ExpectedTensors.forConfig(config);
        List<String> missing = new ArrayList<>();
        List<String> missingOptional = new ArrayList<>();
        Map<Component, Long> params = new EnumMap<>(Component.class);
        for (Component c : Component.values()) params.put(c, 0L);
        for (Expected e : expected.all().values()) {
            if (!src.contains(e.name())) {
                if (e.presence() == Presence.REQUIRED) missing.add(e.name() + " " + e.shapeString());
                else missingOptional.add(e.name());
                continue;
            }
            long[] shape = src.info(e.name()).shape();
            if (!Arrays.equals(shape, e.shape())) {
                throw new Owl2jException("tensor " + e.name() + " has shape " + Arrays.toString(shape) + " but config.json implies "
                        + e.shapeString());
            }
            if (e.presence() != Presence.COMPUTED_IF_MISSING && !ExpectedTensors.isBuffer(e.name())) {
                params.merge(e.component(), e.numel(), Long::sum);
            }
        }
        if (!missing.isEmpty()) {
            throw new Owl2jException("checkpoint lacks " + missing.size() + " required tensor" + (missing.size() > 1 ? "s" : "")
                    + ", first " + missing.getFirst());
        }
        List<String> unexpected = src.stored().names().stream().filter(n -> expected.get(n) == null).toList();
        if (strict && !unexpected.isEmpty()) {
            throw new Owl2jException("checkpoint holds " + unexpected.size() + " tensor" + (unexpected.size() > 1 ? "s" : "")
                    + " the config does not expect, first " + unexpected.getFirst() + " (strict)");
        }
        Map<DType, Integer> byDType = new TreeMap<>();
        for (String n : src.stored().names()) byDType.merge(src.stored().info(n).dtype(), 1, Integer::sum);
        return new CheckpointReport(src.formatName(), List.copyOf(files), byDType, params, missingOptional,
                List.copyOf(src.computedNames()), unexpected);
    }

    public Path dir() {
        return dir;
    }

    public Owl2Config config() {
        return config;
    }

    public PreprocessorConfig preprocessor() {
        return preprocessor;
    }

    public GenerationConfig generation() {
        return generation;
    }

    /** All tensors the model needs: the stored ones plus computed abstractor position tables when absent. */
    public TensorSource tensors() {
        return tensors;
    }

    /** Only what the files hold (what {@code owl2j convert} writes back out). */
    public TensorSource storedTensors() {
        return tensors.stored();
    }

    public CheckpointReport report() {
        return report;
    }

    @Override
    public void close() {
        tensors.close();
    }
}
