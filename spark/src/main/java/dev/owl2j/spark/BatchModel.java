package dev.owl2j.spark;

import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.model.LoadedModel;

import java.util.concurrent.locks.ReentrantLock;

/**
 * A model as an executor's tasks share it: the engine, the tokenizer (null for a checkpoint without one: prompts
 * must then be token ids), the image preprocessor and the generation defaults, plus the lock that keeps the
 * engine to one task at a time (an engine runs one call at a time; its own threads use the executor's cores).
 */
public record BatchModel(String id, Engine engine, Tokenizer tokenizer, ImagePreprocessor preprocessor,
                         GenerationConfig generation, ReentrantLock lock) {

    /** From a model loaded as the CLI loads it. */
    static BatchModel of(LoadedModel loaded) {
        return new BatchModel(loaded.id(), loaded.engine(), loaded.hasTokenizer() ? loaded.tokenizer() : null,
                loaded.preprocessor(), loaded.generation(), new ReentrantLock(true));
    }

    /** For benchmarks: an engine built in memory (synthetic weights), with its tokenizer and preprocessor. */
    public static BatchModel of(String id, Engine engine, Tokenizer tokenizer, ImagePreprocessor preprocessor,
                                GenerationConfig generation) {
        return new BatchModel(id, engine, tokenizer, preprocessor, generation, new ReentrantLock(true));
    }

    int eosId() {
        return generation.eosTokenId();
    }
}
