package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.generation.LogitProcessing;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TokenConstraint;
import dev.owl2j.runtime.generation.TokenVocabulary;
import dev.owl2j.runtime.generation.json.JsonConstraints;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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

    @Option(names = "--repetition-penalty", paramLabel = "P", defaultValue = "1",
            description = "transformers' repetition penalty over the prompt and the reply (1 = off; default: ${DEFAULT-VALUE}).")
    double repetitionPenalty = 1; // also when built without picocli (tests)

    @Option(names = "--presence-penalty", paramLabel = "P", defaultValue = "0", description = "OpenAI's presence penalty, -2 to 2 (default: ${DEFAULT-VALUE}).")
    double presencePenalty;

    @Option(names = "--frequency-penalty", paramLabel = "P", defaultValue = "0", description = "OpenAI's frequency penalty, -2 to 2 (default: ${DEFAULT-VALUE}).")
    double frequencyPenalty;

    @Option(names = "--json-schema", paramLabel = "FILE",
            description = "Constrain the reply to JSON valid against this JSON Schema (the supported subset: docs/server.md, Structured output).")
    Path jsonSchema;

    /** The --json-schema file's JSON, read by {@link #check()} before a model loads. */
    private com.fasterxml.jackson.databind.JsonNode schema;

    /** The compiled --json-schema, made once (a chat asks for it every turn). */
    private TokenConstraint.Factory constraint;

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
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new Owl2jException("--repetition-penalty must be above 0 (1 = off), got " + repetitionPenalty);
        }
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) {
            throw new Owl2jException("--presence-penalty must be from -2 to 2, got " + presencePenalty);
        }
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) {
            throw new Owl2jException("--frequency-penalty must be from -2 to 2, got " + frequencyPenalty);
        }
        if (jsonSchema != null && schema == null) schema = JsonConstraints.readSchema(jsonSchema);
    }

    SamplingParams toParams(GenerationConfig gen) {
        return toParams(gen, null);
    }

    /** {@code tokenizer}: the model's, needed by --json-schema (null when the model has none). */
    SamplingParams toParams(GenerationConfig gen, Tokenizer tokenizer) {
        double p = topP != null ? topP : gen.topP() != null ? gen.topP() : 1.0;
        if (jsonSchema != null && constraint == null) {
            if (tokenizer == null) throw new Owl2jException("--json-schema needs the model's tokenizer");
            if (schema == null) schema = JsonConstraints.readSchema(jsonSchema);
            constraint = new JsonConstraints(TokenVocabulary.of(tokenizer)).schema(schema, "--json-schema " + jsonSchema);
        }
        return new SamplingParams(temperature, topK, p, seed, maxNewTokens, stop)
                .withProcessing(new LogitProcessing(presencePenalty, frequencyPenalty, repetitionPenalty, Map.of(), constraint));
    }
}
