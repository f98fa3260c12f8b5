package dev.owl2j.model.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code generation_config.json}: special ids and the checkpoint's sampling defaults (docs/model.md, Generation). */
@JsonIgnoreProperties(ignoreUnknown = true)
public record GenerationConfig(
        @JsonProperty("bos_token_id") Integer bosTokenId,
        @JsonProperty("eos_token_id") Integer eosTokenId,
        @JsonProperty("pad_token_id") Integer padTokenId,
        @JsonProperty("max_length") Integer maxLength,
        @JsonProperty("temperature") Double temperature,
        @JsonProperty("top_p") Double topP,
        @JsonProperty("top_k") Integer topK) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, false);

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
        if (!Files.isRegularFile(file)) {
            return defaults();
        }
        try {
            return JSON.readValue(file.toFile(), GenerationConfig.class);
        } catch (IOException e) {
            throw new Owl2jException(file + ": cannot parse generation_config.json");
        }
    }
}
