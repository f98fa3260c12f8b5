package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.runtime.generation.SamplingParams;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/**
 * Decoding options shared by run and chat. Defaults follow the original command line (docs/model.md, Generation): sampling at
 * temperature 0.2, top-k 50, top-p from generation_config.json, 512 new tokens. Temperature 0 is greedy.
 */
public final class SamplingOptions {
    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "512", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.2", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "50", description = "0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling (default: generation_config.json's top_p, else 1).")
    Double topP;

    @Option(names = "--seed", paramLabel = "N", description = "Seed for reproducible sampling.")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Extra stop string (repeatable).")
    List<String> stop = new ArrayList<>();

    /** Checks the values before any model is loaded, naming the option that is wrong. */
    void check() {
        if (maxNewTokens < 1) {
            throw new Owl2jException("--max-new-tokens must be at least 1, got " + maxNewTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new Owl2jException("--temperature must be 0 (greedy) or more, got " + temperature);
        }
        if (topK < 0) {
            throw new Owl2jException("--top-k must be 0 (off) or more, got " + topK);
        }
        if (topP != null && !(topP > 0 && topP <= 1)) {
            throw new Owl2jException("--top-p must be above 0 and at most 1, got " + topP);
        }
    }

    SamplingParams toParams(GenerationConfig gen) {
        double p = topP != null ? topP : gen.topP() != null ? gen.topP() : 1.0;
        return new SamplingParams(temperature, topK, p, seed, maxNewTokens, stop);
    }
}
