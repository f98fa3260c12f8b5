package dev.owl2j.model.config;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code generation_config.json}: special ids and the checkpoint's sampling defaults (docs/model.md, Generation).
 * Absent keys are null (the special ids default to 1, 2 and 0); present ones are validated: ids non-negative
 * integers, temperature finite and not negative, top_p in (0, 1], top_k not negative (docs/security.md, Configs).
 */
public record GenerationConfig(
        Integer bosTokenId,
        Integer eosTokenId,
        Integer padTokenId,
        Integer maxLength,
        Double temperature,
        Double topP,
        Integer topK) {

    public GenerationConfig {
        if (bosTokenId == null) bosTokenId = 1;
        if (eosTokenId == null) eosTokenId = 2;
        if (padTokenId == null) padTokenId = 0;
    }

    public static GenerationConfig defaults() {
        return new GenerationConfig(null, null, null, null, null, null, null);
    }

    /** Reads the file, or returns the defaults when it does not exist (it is optional in a checkpoint). */
    public static GenerationConfig readOrDefault(Path file) {
        if (!Files.exists(file)) {
            return defaults();
        }
        return from(JsonConfig.readFile(file));
    }

    public static GenerationConfig parse(String json) {
        return from(JsonConfig.parse(json, "generation_config.json"));
    }

    private static GenerationConfig from(JsonConfig j) {
        return new GenerationConfig(
                j.has("bos_token_id") ? j.integer("bos_token_id", 1, 0, Owl2Config.MAX_VOCAB - 1) : null,
                j.has("eos_token_id") ? j.integer("eos_token_id", 2, 0, Owl2Config.MAX_VOCAB - 1) : null,
                j.has("pad_token_id") ? j.integer("pad_token_id", 0, 0, Owl2Config.MAX_VOCAB - 1) : null,
                j.has("max_length") ? j.integer("max_length", 1, 1, Owl2Config.MAX_POSITIONS) : null,
                j.has("temperature") ? j.numberFrom("temperature", 1, 0, 100) : null,
                j.has("top_p") ? j.number("top_p", 1, 0, 1) : null,
                j.has("top_k") ? j.integer("top_k", 0, 0, Owl2Config.MAX_VOCAB) : null);
    }

    /** Refuses special ids outside the vocabulary (an out-of-range bos would index past the embedding table). */
    public void checkIds(int vocabSize, String where) {
        check(bosTokenId, "bos_token_id", vocabSize, where);
        check(eosTokenId, "eos_token_id", vocabSize, where);
        check(padTokenId, "pad_token_id", vocabSize, where);
    }

    private static void check(int id, String key, int vocab, String where) {
        if (id >= vocab) {
            throw new dev.owl2j.model.Owl2jException(where + ": " + key + " " + id + " is outside the vocabulary of " + vocab);
        }
    }
}
