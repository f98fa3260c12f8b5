package dev.owl2j.bench;

import dev.owl2j.model.image.AspectMode;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.TextStream;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.server.ServerModel;
import dev.owl2j.runtime.server.TokenizedModel;

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
        ServerModel front = new TokenizedModel(loaded.id(), loaded.engine(), loaded.tokenizer(), loaded.preprocessor(),
                loaded.generation(), AspectMode.PAD);
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
