package dev.owl2j.bench;

import dev.owl2j.model.image.AspectMode;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.TextStream;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.server.ServerModel;
import dev.owl2j.runtime.server.TokenizedModel;

import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.config.PreprocessorConfig;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tokenizer.DefaultTokenizerBuilder;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.model.Settings;
import dev.owl2j.runtime.engine.BenchEngines;
import dev.owl2j.runtime.synthetic.SyntheticWeights;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The model a load benchmark serves, loaded as {@code owl2j serve} loads it (default: the embedded random
 * model with the release's layout at toy sizes). EOS is ignored so that every request generates exactly
 * max_tokens: the benchmark measures the engine and the server, not when a random model happens to stop.
 */
final class BenchModels {
    private BenchModels() {}

    static ServerModel open(String model, String backend, String quant) {
        ModelOptions options = new ModelOptions();
        options.model = model;
        options.backend = backend;
        options.quant = quant;
        LoadedModel loaded = LoadedModel.open(options, System.err);
        return ignoringEos(new TokenizedModel(loaded.id(), loaded.engine(), loaded.tokenizer(), loaded.preprocessor(),
                loaded.generation(), AspectMode.PAD));
    }

    /**
     * The release's shapes (LLaMA-2-7B decoder, ViT-L/14, abstractor) with random weights made in memory, no
     * file: F16, the decoder projections directly in {@code quant} when given. CPU engine, the project's own
     * 32000-id tokenizer.
     */
    static ServerModel synthetic7b(String quant) {
        Owl2Config cfg = Owl2Config.parse("{}"); // the defaults are the release's config
        DType q = ModelOptions.parseQuant(quant);
        SyntheticWeights weights = SyntheticWeights.forConfig(cfg, q, 1);
        Engine engine = BenchEngines.cpu(weights, cfg, "synthetic 7B, " + (q == null ? "F16" : q + " decoder"),
                Settings.fromSystem(), null);
        Tokenizer tokenizer;
        try {
            Path tok = Files.createTempFile("owl2j-bench-tokenizer", ".json");
            DefaultTokenizerBuilder.write(cfg.vocabSize(), tok);
            tokenizer = Tokenizer.load(tok);
            Files.delete(tok);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return ignoringEos(new TokenizedModel("synthetic-7b", engine, tokenizer, new ImagePreprocessor(PreprocessorConfig.clip448()),
                GenerationConfig.defaults(), AspectMode.PAD));
    }

    private static ServerModel ignoringEos(ServerModel front) {
        return new ServerModel() {
            @Override
            public String id() {
                return front.id();
            }

            @Override
            public Engine engine() {
                return front.engine();
            }

            @Override
            public String renderChat(List<Turn> turns) {
                return front.renderChat(turns);
            }

            @Override
            public int[] encodePrompt(String prompt) {
                return front.encodePrompt(prompt);
            }

            @Override
            public TextStream newTextStream() {
                return front.newTextStream();
            }

            @Override
            public int eosId() {
                return -1;
            }

            @Override
            public float[] pixelValues(byte[] data, String name) {
                return front.pixelValues(data, name);
            }
        };
    }
}
