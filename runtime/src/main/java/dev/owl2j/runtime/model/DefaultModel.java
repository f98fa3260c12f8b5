package dev.owl2j.runtime.model;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsWriter;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.model.tokenizer.DefaultTokenizerBuilder;
import dev.owl2j.runtime.synthetic.SyntheticWeights;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The embedded default model: the release's layout (config.json, model.safetensors, tokenizer.json, ...) at toy
 * sizes with deterministic random weights, made on first use and cached. It lets every command run on a fresh
 * machine without a download; its answers are noise, and the commands say so.
 */
public final class DefaultModel {
    /**
     * Bump when the generated content changes, so stale caches are rebuilt (the folder's name holds it).
     * v2: weights drawn at the scale of each layer's inputs (below), so that images change the answers.
     */
    static final String VERSION = "v2";
    /** The name the embedded default goes by (in served responses, for instance). */
    public static final String ID = "owl2j-default-random";
    static final long SEED = 20261123L;
    public static final String NOTICE =
            "owl2j: no --model given: using the embedded default model (random weights: its answers are noise)";

    private DefaultModel() {}

    /** The directory of the default model under the Owl2J home, created if missing. */
    public static Path ensure() {
        return ensure(OwlHome.dir().resolve("default-model-" + VERSION));
    }

    static Path ensure(Path dir) {
        if (Files.isRegularFile(dir.resolve("model.safetensors")) && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return dir;
        }
        try {
            Files.createDirectories(dir.getParent());
            Path tmp = Files.createTempDirectory(dir.getParent(), dir.getFileName() + ".tmp");
            try {
                write(tmp);
                try {
                    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, dir);
                }
            } catch (IOException | RuntimeException e) {
                deleteTree(tmp);
                if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
                    return dir; // another process made it first
                }
                throw e;
            }
            return dir;
        } catch (IOException e) {
            throw new Owl2jException("cannot create the default model in " + dir + ": " + e.getMessage());
        }
    }

    /** Writes the whole checkpoint into an empty directory. */
    static void write(Path dir) throws IOException {
        copyResource("default-config.json", dir.resolve("config.json"));
        copyResource("default-preprocessor_config.json", dir.resolve("preprocessor_config.json"));
        copyResource("default-generation_config.json", dir.resolve("generation_config.json"));
        Owl2Config cfg = Owl2Config.read(dir.resolve("config.json"));
        Map<String, long[]> shapes = new LinkedHashMap<>();
        // what the release stores; the abstractor's position tables and rotary inv_freq are computed at load
        for (ExpectedTensors.Expected e : ExpectedTensors.forConfig(cfg).withPresence(ExpectedTensors.Presence.REQUIRED)) {
            shapes.put(e.name(), e.shape());
        }
        try (SyntheticWeights weights = new SyntheticWeights(shapes, name -> DType.F16, SEED, DefaultModel::init)) {
            List<Tensor> tensors = new ArrayList<>();
            for (String name : weights.names()) {
                tensors.add(weights.get(name));
            }
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors,
                    Map.of("format", "pt", "owl2j", "embedded default model " + VERSION + ": random weights"));
        }
        DefaultTokenizerBuilder.write(cfg.vocabSize(), dir.resolve("tokenizer.json"));
    }

    /**
     * The scale of each tensor's random values. With the initialisers' small values (std 0.02 everywhere) a tiny
     * model's signals shrink at every layer: the image's tokens reach the decoder faint beside the text, and two
     * different images changed the logits by at most 0.005, so every image got the same answer. Drawing each
     * matrix with std 1/sqrt(inputs) keeps a signal's size from layer to layer (the usual fan-in scaling), and
     * the learned embeddings (tokens, patch positions, queries, the class and end-of-image tokens) with std 1,
     * so the pixels carry through to the answer: different images give different text (DefaultModelTest).
     */
    static SyntheticWeights.Init init(String name, long[] shape) {
        if (shape.length == 1) {
            return SyntheticWeights.defaultInit(name, shape); // norm weights near 1, biases small
        }
        if (name.endsWith("embed_tokens.weight") || name.endsWith("position_embedding") || name.endsWith("cls_token")
                || name.endsWith("query_embeds") || name.endsWith("vit_eos")) {
            return new SyntheticWeights.Init(0, 1);
        }
        long fanIn = 1;
        for (int i = 1; i < shape.length; i++) fanIn *= shape[i];
        return new SyntheticWeights.Init(0, 1 / Math.sqrt(fanIn));
    }

    private static void copyResource(String name, Path target) throws IOException {
        try (InputStream in = DefaultModel.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " missing from the build");
            }
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // best effort: a leftover temp folder is harmless
        }
    }
}
