package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.runtime.generation.LogitProcessing;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TokenConstraint;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sampling fields shared by chat and completions requests, validated (each wrong value is a 400 naming its
 * field), and turned into {@link SamplingParams} once the prompt's length is known.
 *
 * @param maxTokens null: as many as the server and the context allow
 * @param topK      null: the model's generation config (OpenAI has no such field; vLLM's extension)
 */
record SamplingFields(Long maxTokens, Double temperature, Double topP, Integer topK, Long seed, List<String> stop,
                      double presencePenalty, double frequencyPenalty, double repetitionPenalty, Map<Integer, Double> logitBias) {
    static final int MAX_STOPS = 4;
    /** Longest stop string: each token's stop check scans the new text against every stop string. */
    static final int MAX_STOP_CHARS = 256;
    static final int MAX_LOGIT_BIAS = 300;

    /** The fields read here, for the endpoints' tables. */
    static final Set<String> FIELDS = Set.of("max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "seed",
            "stop", "presence_penalty", "frequency_penalty", "repetition_penalty", "logit_bias");

    /** {@code zeroTokens}: whether max_tokens may be 0 (completions with echo). */
    static SamplingFields parse(JsonNode body, ServerOptions options, int vocabSize, boolean zeroTokens) {
        String mtName = Fields.present(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        JsonNode mt = body.get(mtName);
        Long maxTokens = null;
        if (mt != null && !mt.isNull()) {
            if (!mt.isIntegralNumber() || !mt.canConvertToLong() || mt.asLong() < (zeroTokens ? 0 : 1)) {
                throw ApiException.badField(mtName, "invalid_max_tokens", mtName + " must be a " + (zeroTokens ? "non-negative" : "positive") + " integer");
            }
            maxTokens = mt.asLong();
            if (maxTokens > options.maxTokens()) {
                throw ApiException.badField(mtName, "invalid_max_tokens", mtName + " is " + maxTokens + ", the server allows at most " + options.maxTokens());
            }
        }
        Double temperature = Fields.number(body, "temperature", 0, 2, "");
        Double topP = Fields.number(body, "top_p", 0, 1, "");
        if (topP != null && topP <= 0) throw ApiException.badField("top_p", "invalid_top_p", "top_p must be in (0, 1]");
        Integer topK = Fields.present(body, "top_k") ? Fields.integer(body, "top_k", 0, vocabSize, 0, "") : null;
        Long seed = null;
        JsonNode s = body.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) throw ApiException.badField("seed", "invalid_seed", "seed must be an integer");
            seed = s.asLong();
        }
        double presence = orZero(Fields.number(body, "presence_penalty", -2, 2, ""));
        double frequency = orZero(Fields.number(body, "frequency_penalty", -2, 2, ""));
        Double repetition = Fields.number(body, "repetition_penalty", 0, 100, "");
        if (repetition != null && repetition <= 0) {
            throw ApiException.badField("repetition_penalty", "invalid_repetition_penalty", "repetition_penalty must be above 0 (1 is off)");
        }
        return new SamplingFields(maxTokens, temperature, topP, topK, seed, stops(body.get("stop")), presence, frequency,
                repetition == null ? 1 : repetition, logitBias(body.get("logit_bias"), vocabSize));
    }

    private static double orZero(Double d) {
        return d == null ? 0 : d;
    }

    private static List<String> stops(JsonNode st) {
        List<String> stop = new ArrayList<>();
        if (st == null || st.isNull()) return stop;
        if (st.isTextual()) {
            stop.add(st.asText());
        } else if (st.isArray()) {
            if (st.size() > MAX_STOPS) throw ApiException.badField("stop", "invalid_stop", "at most " + MAX_STOPS + " stop strings");
            for (JsonNode x : st) {
                if (!x.isTextual()) throw ApiException.badField("stop", "invalid_stop", "stop must be a string or an array of strings");
                stop.add(x.asText());
            }
        } else {
            throw ApiException.badField("stop", "invalid_stop", "stop must be a string or an array of strings");
        }
        for (String x : stop) {
            if (x.length() > MAX_STOP_CHARS) {
                throw ApiException.badField("stop", "invalid_stop", "a stop string is " + x.length() + " characters, at most " + MAX_STOP_CHARS);
            }
        }
        return stop;
    }

    /** OpenAI's logit_bias: token ids (as JSON keys) to biases from -100 to 100. */
    private static Map<Integer, Double> logitBias(JsonNode lb, int vocabSize) {
        Map<Integer, Double> out = new HashMap<>();
        if (lb == null || lb.isNull()) return out;
        if (!lb.isObject()) throw ApiException.badField("logit_bias", "invalid_logit_bias", "logit_bias must map token ids to numbers");
        if (lb.size() > MAX_LOGIT_BIAS) throw ApiException.badField("logit_bias", "invalid_logit_bias", "logit_bias has more than " + MAX_LOGIT_BIAS + " entries");
        for (Iterator<Map.Entry<String, JsonNode>> it = lb.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw ApiException.badField("logit_bias", "invalid_logit_bias", "logit_bias key '" + PromptBuilder.clip(e.getKey()) + "' is not a token id");
            }
            if (id < 0 || id >= vocabSize) {
                throw ApiException.badField("logit_bias", "invalid_logit_bias", "logit_bias token " + id + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
            }
            JsonNode v = e.getValue();
            if (!v.isNumber() || !(v.asDouble() >= -100 && v.asDouble() <= 100)) {
                throw ApiException.badField("logit_bias", "invalid_logit_bias", "logit_bias values must be numbers from -100 to 100");
            }
            out.put(id, v.asDouble());
        }
        return out;
    }

    /**
     * The parameters for a prompt of {@code promptPositions}: at most max_tokens, the server's limit and what the
     * context leaves (at least 1, so a full context still gives a finish reason); {@code constraint}: constrained
     * decoding or null.
     */
    SamplingParams params(ServerModel model, ServerOptions options, int promptPositions, TokenConstraint.Factory constraint) {
        int capacity = model.engine().config().maxPositionEmbeddings();
        int room = Math.min(options.maxTokens(), capacity - promptPositions);
        int max = maxTokens == null ? room : (int) Math.min(maxTokens, room);
        return new SamplingParams(temperature != null ? temperature : model.defaultTemperature(),
                topK != null ? topK : model.defaultTopK(), topP != null ? topP : model.defaultTopP(), seed, Math.max(1, max), stop,
                new LogitProcessing(presencePenalty, frequencyPenalty, repetitionPenalty, logitBias, constraint));
    }
}
