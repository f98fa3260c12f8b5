package dev.owl2j.runtime.generation.json;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A JSON Schema validator for the subset constrained decoding supports, written from the keywords' definitions
 * and independently of the matcher, to judge its outputs.
 */
public final class SchemaValidator {
    private SchemaValidator() {}

    /** Fails the test unless {@code value} is valid against {@code schema}. */
    public static void validate(JsonNode value, JsonNode schema) {
        validate(value, schema, schema, "$");
    }


    static void validate(JsonNode v, JsonNode schema, JsonNode root, String at) {
        if (schema.isBoolean()) return;
        if (schema.has("$ref")) {
            String[] p = schema.get("$ref").asText().substring(2).split("/");
            JsonNode target = root;
            for (String x : p) if (!x.isEmpty()) target = target.get(x);
            validate(v, target, root, at);
            return;
        }
        if (schema.has("anyOf")) {
            for (JsonNode alt : schema.get("anyOf")) {
                try {
                    validate(v, alt, root, at);
                    return;
                } catch (AssertionError e) {
                    // try the next
                }
            }
            fail(at + ": " + v + " matches no anyOf alternative");
        }
        if (schema.has("const")) assertEquals(schema.get("const"), v, at);
        if (schema.has("enum")) {
            boolean found = false;
            for (JsonNode e : schema.get("enum")) found |= e.equals(v) || (e.isNumber() && v.isNumber() && e.asDouble() == v.asDouble());
            assertTrue(found, at + ": " + v + " not in the enum");
        }
        if (schema.has("type")) {
            List<String> types = new ArrayList<>();
            if (schema.get("type").isTextual()) types.add(schema.get("type").asText());
            else schema.get("type").forEach(t -> types.add(t.asText()));
            boolean ok = false;
            for (String t : types) {
                ok |= switch (t) {
                    case "object" -> v.isObject();
                    case "array" -> v.isArray();
                    case "string" -> v.isTextual();
                    case "integer" -> v.isIntegralNumber();
                    case "number" -> v.isNumber();
                    case "boolean" -> v.isBoolean();
                    default -> v.isNull();
                };
            }
            assertTrue(ok, at + ": " + v + " is not " + types);
        }
        if (v.isObject()) {
            JsonNode props = schema.path("properties");
            for (JsonNode req : schema.path("required")) assertTrue(v.has(req.asText()), at + ": missing " + req);
            for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (props.has(e.getKey())) validate(e.getValue(), props.get(e.getKey()), root, at + "." + e.getKey());
                else assertFalse(schema.path("additionalProperties").isBoolean() && !schema.get("additionalProperties").asBoolean(),
                        at + ": extra key " + e.getKey());
            }
        }
        if (v.isArray()) {
            if (schema.has("minItems")) assertTrue(v.size() >= schema.get("minItems").asInt(), at + ": too few items");
            if (schema.has("maxItems")) assertTrue(v.size() <= schema.get("maxItems").asInt(), at + ": too many items");
            for (int i = 0; i < v.size(); i++) if (schema.has("items")) validate(v.get(i), schema.get("items"), root, at + "[" + i + "]");
        }
        if (v.isTextual()) {
            int n = v.asText().codePointCount(0, v.asText().length());
            if (schema.has("minLength")) assertTrue(n >= schema.get("minLength").asInt(), at + ": too short " + v);
            if (schema.has("maxLength")) assertTrue(n <= schema.get("maxLength").asInt(), at + ": too long " + v);
        }
    }

}
