package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The field tables of the endpoints (docs/server.md lists them): every field of a request object is honoured,
 * accepted because the value asks for nothing Owl2J does not do (such as {@code store: false}), or refused with a
 * 400 naming it. A field set to null counts as absent, as OpenAI's clients send optional fields that way.
 */
final class Fields {
    /** A field accepted only with values that ask for nothing; the reason explains the refusal otherwise. */
    record Harmless(Predicate<JsonNode> when, String reason) {}

    private Fields() {}

    /**
     * Checks the fields of {@code object} at {@code where} ("" for the body, "messages[0]." inside): honoured ones
     * pass, harmless ones pass when their value allows, refused ones (with their reason) and unknown ones are 400s.
     */
    static void check(JsonNode object, String where, Set<String> honoured, Map<String, Harmless> harmless, Map<String, String> refused) {
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode value = e.getValue();
            if (honoured.contains(name) || value.isNull()) continue;
            Harmless h = harmless.get(name);
            if (h != null) {
                if (h.when().test(value)) continue;
                throw unsupported(where + name, h.reason());
            }
            String reason = refused.get(name);
            if (reason != null) throw unsupported(where + name, reason);
            throw ApiException.badField(where + name, "unknown_parameter", "unknown field '" + PromptBuilder.clip(where + name)
                    + "' (docs/server.md lists the fields this server honours)");
        }
    }

    static ApiException unsupported(String param, String reason) {
        return ApiException.badField(param, "unsupported_parameter", param + " is not supported: " + reason);
    }

    static boolean present(JsonNode body, String field) {
        return body.has(field) && !body.get(field).isNull();
    }

    /** A boolean field (false when absent). */
    static boolean bool(JsonNode body, String field, String where) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw ApiException.badField(where + field, "invalid_" + field, where + field + " must be true or false");
        return v.asBoolean();
    }

    /** An integer field in [min, max], or {@code dflt} when absent. */
    static int integer(JsonNode body, String field, int min, int max, int dflt, String where) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw ApiException.badField(where + field, "invalid_" + field, where + field + " must be an integer from " + min + " to " + max);
        }
        return (int) v.asLong();
    }

    /** A number field in [min, max], or null when absent. */
    static Double number(JsonNode body, String field, double min, double max, String where) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
            throw ApiException.badField(where + field, "invalid_" + field, where + field + " must be a number in [" + fmt(min) + ", " + fmt(max) + "]");
        }
        return v.asDouble();
    }

    static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    static boolean isText(JsonNode v, String... allowed) {
        if (!v.isTextual()) return false;
        for (String a : allowed) if (a.equals(v.asText())) return true;
        return false;
    }
}
