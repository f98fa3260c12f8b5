package dev.owl2j.model.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * One JSON object of a config file, read strictly: a key that is absent (or {@code null}) takes the documented
 * default; a key that is present must have the right type and lie in its range, or the file is refused with one
 * line naming the key, the rule and the value found. Nothing is silently replaced (docs/security.md, Configs).
 */
final class JsonConfig {
    /** Largest config file read; the release's are a few kB. */
    static final long MAX_FILE_BYTES = 1 << 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final String where;
    private final String prefix;
    private final JsonNode node;

    private JsonConfig(String where, String prefix, JsonNode node) {
        this.where = where;
        this.prefix = prefix;
        this.node = node;
    }

    /** Reads a config file of at most {@link #MAX_FILE_BYTES}; its top level must be an object. */
    static JsonConfig readFile(Path file) {
        String where = file.toString();
        try {
            if (!Files.isRegularFile(file)) throw new Owl2jException(file.getFileName() + " not found: " + file);
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new Owl2jException(where + ": " + size + " bytes is too large for a config file (limit " + MAX_FILE_BYTES + ")");
            }
            return parse(Files.readString(file), where);
        } catch (NoSuchFileException e) {
            throw new Owl2jException(file.getFileName() + " not found: " + file);
        } catch (IOException e) {
            throw new Owl2jException(where + ": cannot read it: " + e.getMessage());
        }
    }

    static JsonConfig parse(String json, String where) {
        if (json.length() > MAX_FILE_BYTES) {
            throw new Owl2jException(where + ": too large for a config file (limit " + MAX_FILE_BYTES + " bytes)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new Owl2jException(where + ": not valid JSON (" + oneLine(e.getOriginalMessage()) + ")");
        } catch (IOException e) {
            throw new Owl2jException(where + ": not valid JSON (" + oneLine(e.getMessage()) + ")");
        }
        if (root == null || !root.isObject()) {
            throw new Owl2jException(where + ": not a JSON object");
        }
        return new JsonConfig(where, "", root);
    }

    /** A nested object; absent or null reads as an empty object (all defaults). */
    JsonConfig object(String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return new JsonConfig(where, prefix + key + ".", MissingNode.getInstance());
        if (!v.isObject()) throw bad(key, "must be an object", v);
        return new JsonConfig(where, prefix + key + ".", v);
    }

    boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    JsonNode raw(String key) {
        return node.get(key);
    }

    /** An integer in [min, max]. */
    int integer(String key, int dflt, int min, int max) {
        if (!has(key)) return dflt;
        JsonNode v = node.get(key);
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            throw bad(key, "must be an integer from " + min + " to " + max, v);
        }
        return v.intValue();
    }

    /** A finite number greater than {@code above} and at most {@code max}. */
    double number(String key, double dflt, double above, double max) {
        if (!has(key)) return dflt;
        JsonNode v = node.get(key);
        if (!v.isNumber() || !Double.isFinite(v.doubleValue()) || !(v.doubleValue() > above) || v.doubleValue() > max) {
            throw bad(key, "must be a number above " + above + " and at most " + max, v);
        }
        return v.doubleValue();
    }

    /** A finite number from {@code min} to {@code max}, both included. */
    double numberFrom(String key, double dflt, double min, double max) {
        if (!has(key)) return dflt;
        JsonNode v = node.get(key);
        if (!v.isNumber() || !Double.isFinite(v.doubleValue()) || v.doubleValue() < min || v.doubleValue() > max) {
            throw bad(key, "must be a number from " + min + " to " + max, v);
        }
        return v.doubleValue();
    }

    boolean bool(String key, boolean dflt) {
        if (!has(key)) return dflt;
        JsonNode v = node.get(key);
        if (!v.isBoolean()) throw bad(key, "must be true or false", v);
        return v.booleanValue();
    }

    String string(String key, String dflt) {
        if (!has(key)) return dflt;
        JsonNode v = node.get(key);
        if (!v.isTextual()) throw bad(key, "must be a string", v);
        return v.textValue();
    }

    /** An error naming the key (with its parents), the rule and the value found. */
    Owl2jException bad(String key, String rule, JsonNode found) {
        return new Owl2jException(where + ": " + prefix + key + " " + rule + ", found " + show(found));
    }

    Owl2jException fail(String message) {
        return new Owl2jException(where + ": " + message);
    }

    private static String show(JsonNode v) {
        if (v == null) return "nothing";
        if (v.isContainerNode()) return v.isArray() ? "a list" : "an object";
        String s = v.toString();
        return oneLine(s.length() > 60 ? s.substring(0, 60) + "..." : s);
    }

    static String oneLine(String s) {
        if (s == null) return "unknown error";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? ' ' : c);
        }
        return sb.toString().trim();
    }
}
