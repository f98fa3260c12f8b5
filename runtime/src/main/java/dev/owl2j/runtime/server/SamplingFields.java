package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.runtime.generation.SamplingParams;

import java.util.ArrayList;
import java.util.List;

/**
 * The sampling fields of a chat or completions request, validated (each wrong value is a 400 naming its field),
 * and turned into {@link SamplingParams} once the prompt's length is known.
 */
record SamplingFields(Long maxTokens, Double temperature, Double topP, Long seed, List<String> stop) {
    static final int MAX_STOPS = 4;
    /** Longest stop string: each token's stop check scans the new text against every stop string. */
    static final int MAX_STOP_CHARS = 256;

    static SamplingFields parse(JsonNode body, ServerOptions options) {
        JsonNode mt = present(body, "max_completion_tokens") ? body.get("max_completion_tokens") : body.get("max_tokens");
        String mtName = present(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        Long maxTokens = null;
        if (mt != null && !mt.isNull()) {
            if (!mt.isIntegralNumber() || !mt.canConvertToLong() || mt.asLong() < 1) {
                throw ApiException.badRequest("invalid_max_tokens", mtName + " must be a positive integer");
            }
            maxTokens = mt.asLong();
            if (maxTokens > options.maxTokens()) {
                throw ApiException.badRequest("invalid_max_tokens", mtName + " is " + maxTokens + ", the server allows at most " + options.maxTokens());
            }
        }
        Double temperature = number(body, "temperature", 0, 2);
        Double topP = number(body, "top_p", 0, 1);
        if (topP != null && topP <= 0) throw ApiException.badRequest("invalid_top_p", "top_p must be in (0, 1]");
        Long seed = null;
        JsonNode s = body.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) throw ApiException.badRequest("invalid_seed", "seed must be an integer");
            seed = s.asLong();
        }
        return new SamplingFields(maxTokens, temperature, topP, seed, stops(body.get("stop")));
    }

    private static List<String> stops(JsonNode st) {
        List<String> stop = new ArrayList<>();
        if (st == null || st.isNull()) return stop;
        if (st.isTextual()) {
            stop.add(st.asText());
        } else if (st.isArray()) {
            if (st.size() > MAX_STOPS) throw ApiException.badRequest("invalid_stop", "at most " + MAX_STOPS + " stop strings");
            for (JsonNode x : st) {
                if (!x.isTextual()) throw ApiException.badRequest("invalid_stop", "stop must be a string or an array of strings");
                stop.add(x.asText());
            }
        } else {
            throw ApiException.badRequest("invalid_stop", "stop must be a string or an array of strings");
        }
        for (String x : stop) {
            if (x.length() > MAX_STOP_CHARS) {
                throw ApiException.badRequest("invalid_stop", "a stop string is " + x.length() + " characters, at most " + MAX_STOP_CHARS);
            }
        }
        return stop;
    }

    /** The parameters for a prompt of {@code promptPositions}: max_tokens at most the server's limit and what the context leaves. */
    SamplingParams params(ServerModel model, ServerOptions options, int promptPositions) {
        int capacity = model.engine().config().maxPositionEmbeddings();
        int room = Math.min(options.maxTokens(), capacity - promptPositions);
        int max = maxTokens == null ? room : (int) Math.min(maxTokens, room);
        return new SamplingParams(temperature != null ? temperature : model.defaultTemperature(), model.defaultTopK(),
                topP != null ? topP : model.defaultTopP(), seed, Math.max(1, max), stop);
    }

    static boolean present(JsonNode body, String field) {
        return body.has(field) && !body.get(field).isNull();
    }

    private static Double number(JsonNode body, String field, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
            throw ApiException.badRequest("invalid_" + field, field + " must be a number in [" + fmt(min) + ", " + fmt(max) + "]");
        }
        return v.asDouble();
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
