package dev.owl2j.runtime.generation.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Owl2jException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compiles the supported subset of JSON Schema (docs/server.md, Structured output) into {@link Shape}s. Every
 * keyword that would constrain the output is either enforced or refused with a one-line error naming it and its
 * place; annotations (title, description, default, examples, ...) are ignored. Then it computes each shape's
 * fewest bytes, which the matcher uses to finish a value within the token budget; a schema with no finite value
 * is refused.
 */
final class SchemaCompiler {
    static final int MAX_SHAPES = 2000;
    static final int MAX_PROPERTIES = 256;
    static final int MAX_ENUM = 256;
    static final int MAX_STRING_LENGTH = 100_000;
    static final int MAX_ITEMS = 100_000;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema", "$id",
            "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions");
    private static final Set<String> TYPES = Set.of("object", "array", "string", "number", "integer", "boolean", "null");
    private static final Map<String, Set<String>> KEYWORDS = Map.of(
            "object", Set.of("properties", "required", "additionalProperties"),
            "array", Set.of("items", "minItems", "maxItems"),
            "string", Set.of("minLength", "maxLength"),
            "number", Set.of(), "integer", Set.of(), "boolean", Set.of(), "null", Set.of());

    private final JsonNode root;
    private final Map<String, Shape> defs = new HashMap<>();
    private final List<Shape.Ref> refs = new ArrayList<>();
    private final List<Shape> all = new ArrayList<>();

    private SchemaCompiler(JsonNode root) {
        this.root = root;
    }

    /** The root shape of {@code schema}; {@code what} names the schema in errors ("response_format.json_schema.schema"). */
    static Shape compile(JsonNode schema, String what) {
        SchemaCompiler c = new SchemaCompiler(schema);
        try {
            Shape s = c.shape(schema, "#");
            c.defs.put("#", s);
            for (int i = 0; i < c.refs.size(); i++) { // resolving may compile definitions that add references
                c.refs.get(i).target = c.resolve(c.refs.get(i).pointer);
            }
            c.computeLengths();
            if (s.minLength >= Shape.INFINITE) throw new Owl2jException("the schema has no finite value (a definition that always contains itself)");
            return s;
        } catch (Owl2jException e) {
            throw new Owl2jException(what + ": " + e.getMessage());
        }
    }

    /** A shape for any JSON object ({@code response_format: json_object}). */
    static Shape anyObject() {
        Shape.Obj o = new Shape.Obj(true, List.of());
        SchemaCompiler c = new SchemaCompiler(null);
        c.all.add(o);
        c.computeLengths();
        return o;
    }

    private <T extends Shape> T add(T s) {
        all.add(s);
        if (all.size() > MAX_SHAPES) throw new Owl2jException("the schema is too large (more than " + MAX_SHAPES + " nodes)");
        return s;
    }

    private Shape shape(JsonNode s, String at) {
        if (s.isBoolean()) {
            if (!s.asBoolean()) throw new Owl2jException("the schema at " + at + " is false (no value is valid)");
            return add(new Shape.Any());
        }
        if (!s.isObject()) throw new Owl2jException("the schema at " + at + " must be an object or a boolean");
        if (s.has("$ref")) {
            for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!k.equals("$ref") && !ANNOTATIONS.contains(k)) throw unsupported(k + " beside $ref", at);
            }
            if (!s.get("$ref").isTextual()) throw new Owl2jException("$ref at " + at + " must be a string");
            Shape.Ref r = add(new Shape.Ref(s.get("$ref").asText()));
            refs.add(r);
            return r;
        }
        if (s.has("anyOf")) {
            JsonNode alts = s.get("anyOf");
            if (!alts.isArray() || alts.isEmpty()) throw new Owl2jException("anyOf at " + at + " must be a non-empty array");
            for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!k.equals("anyOf") && !ANNOTATIONS.contains(k)) throw unsupported(k + " beside anyOf", at);
            }
            List<Shape> out = new ArrayList<>();
            for (int i = 0; i < alts.size(); i++) out.add(shape(alts.get(i), at + "/anyOf/" + i));
            return out.size() == 1 ? out.getFirst() : add(new Shape.AnyOf(out));
        }
        Set<String> types = new LinkedHashSet<>();
        JsonNode type = s.get("type");
        if (type != null) {
            if (type.isTextual()) {
                types.add(type.asText());
            } else if (type.isArray() && !type.isEmpty()) {
                for (JsonNode t : type) {
                    if (!t.isTextual()) throw new Owl2jException("type at " + at + " must be a string or an array of strings");
                    types.add(t.asText());
                }
            } else {
                throw new Owl2jException("type at " + at + " must be a string or an array of strings");
            }
            for (String t : types) if (!TYPES.contains(t)) throw new Owl2jException("unknown type '" + t + "' at " + at);
        }
        Set<String> allowed = new HashSet<>(ANNOTATIONS);
        allowed.add("type");
        allowed.add("enum");
        allowed.add("const");
        for (String t : types.isEmpty() ? TYPES : types) allowed.addAll(KEYWORDS.get(t));
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) throw unsupported(k, at);
        }
        if (s.has("enum") || s.has("const")) return literals(s, types, at);
        if (types.isEmpty()) {
            // No type: keywords of one type imply it (as {"properties": ...} means an object); none means any value.
            for (String t : List.of("object", "array", "string")) {
                for (String k : KEYWORDS.get(t)) if (s.has(k)) types.add(t);
            }
            if (types.size() > 1) throw new Owl2jException("the schema at " + at + " mixes keywords of several types without a type");
            if (types.isEmpty()) return add(new Shape.Any());
        }
        List<Shape> out = new ArrayList<>();
        for (String t : types) out.add(typed(t, s, at));
        return out.size() == 1 ? out.getFirst() : add(new Shape.AnyOf(out));
    }

    private Shape typed(String type, JsonNode s, String at) {
        return switch (type) {
            case "object" -> object(s, at);
            case "array" -> {
                int min = count(s, "minItems", 0, at);
                int max = count(s, "maxItems", Shape.INFINITE, at);
                if (min > max) throw new Owl2jException("minItems > maxItems at " + at);
                if (min > MAX_ITEMS) throw new Owl2jException("minItems over " + MAX_ITEMS + " at " + at);
                Shape items = s.has("items") ? shape(s.get("items"), at + "/items") : add(new Shape.Any());
                yield add(new Shape.Arr(items, min, max));
            }
            case "string" -> {
                int min = count(s, "minLength", 0, at);
                int max = count(s, "maxLength", Shape.INFINITE, at);
                if (min > max) throw new Owl2jException("minLength > maxLength at " + at);
                if (min > MAX_STRING_LENGTH) throw new Owl2jException("minLength over " + MAX_STRING_LENGTH + " at " + at);
                yield add(new Shape.Str(min, max));
            }
            case "number" -> add(new Shape.Num(false));
            case "integer" -> add(new Shape.Num(true));
            case "boolean" -> add(new Shape.Lit(literalsOf(List.of("false", "true"))));
            case "null" -> add(new Shape.Lit(literalsOf(List.of("null"))));
            default -> throw new IllegalStateException(type);
        };
    }

    private Shape object(JsonNode s, String at) {
        JsonNode props = s.get("properties");
        JsonNode additional = s.get("additionalProperties");
        if (additional != null && !additional.isBoolean() && !additional.isObject()) {
            throw new Owl2jException("additionalProperties at " + at + " must be a boolean or a schema");
        }
        Set<String> required = new LinkedHashSet<>();
        JsonNode req = s.get("required");
        if (req != null) {
            if (!req.isArray()) throw new Owl2jException("required at " + at + " must be an array of names");
            for (JsonNode r : req) {
                if (!r.isTextual()) throw new Owl2jException("required at " + at + " must be an array of names");
                required.add(r.asText());
            }
        }
        if (props == null || props.isEmpty()) {
            if (!required.isEmpty()) throw new Owl2jException("required names properties that are not defined at " + at);
            // No properties: any object; with additionalProperties false only the empty one.
            boolean closed = additional != null && additional.isBoolean() && !additional.asBoolean();
            return add(new Shape.Obj(!closed, List.of()));
        }
        if (!props.isObject()) throw new Owl2jException("properties at " + at + " must be an object");
        if (props.size() > MAX_PROPERTIES) throw new Owl2jException("more than " + MAX_PROPERTIES + " properties at " + at);
        List<Shape.Property> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            list.add(new Shape.Property(e.getKey(), shape(e.getValue(), at + "/properties/" + e.getKey()), required.contains(e.getKey())));
        }
        for (String r : required) {
            if (!props.has(r)) throw new Owl2jException("required property '" + r + "' is not defined in properties at " + at);
        }
        return add(new Shape.Obj(false, list));
    }

    private Shape literals(JsonNode s, Set<String> types, String at) {
        List<JsonNode> values = new ArrayList<>();
        if (s.has("const")) values.add(s.get("const"));
        if (s.has("enum")) {
            JsonNode e = s.get("enum");
            if (!e.isArray() || e.isEmpty()) throw new Owl2jException("enum at " + at + " must be a non-empty array");
            if (e.size() > MAX_ENUM) throw new Owl2jException("enum at " + at + " has more than " + MAX_ENUM + " values");
            e.forEach(values::add);
        }
        for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!k.equals("enum") && !k.equals("const") && !k.equals("type") && !ANNOTATIONS.contains(k)) throw unsupported(k + " beside enum or const", at);
        }
        List<String> serialized = new ArrayList<>();
        for (JsonNode v : values) {
            if (!types.isEmpty() && !types.contains(typeOf(v)) && !(typeOf(v).equals("integer") && types.contains("number"))) continue;
            try {
                String text = JSON.writeValueAsString(v);
                if (!serialized.contains(text)) serialized.add(text);
            } catch (JsonProcessingException ex) {
                throw new Owl2jException("enum value at " + at + " cannot be written");
            }
        }
        if (serialized.isEmpty()) throw new Owl2jException("no enum or const value at " + at + " has the schema's type");
        return add(new Shape.Lit(literalsOf(serialized)));
    }

    private static String typeOf(JsonNode v) {
        if (v.isObject()) return "object";
        if (v.isArray()) return "array";
        if (v.isTextual()) return "string";
        if (v.isIntegralNumber()) return "integer";
        if (v.isNumber()) return "number";
        if (v.isBoolean()) return "boolean";
        return "null";
    }

    static Shape.Literals literalsOf(List<String> texts) {
        List<byte[]> values = new ArrayList<>();
        List<Integer> payload = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            values.add(texts.get(i).getBytes(StandardCharsets.UTF_8));
            payload.add(i);
        }
        return new Shape.Literals(values, payload);
    }

    private static int count(JsonNode s, String key, int dflt, String at) {
        JsonNode v = s.get(key);
        if (v == null) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
            throw new Owl2jException(key + " at " + at + " must be a non-negative integer");
        }
        return Math.min(v.asInt(), Shape.INFINITE);
    }

    private static Owl2jException unsupported(String keyword, String at) {
        return new Owl2jException("unsupported keyword " + keyword + " at " + at + " (supported: type, properties, required,"
                + " additionalProperties, items, minItems, maxItems, minLength, maxLength, enum, const, anyOf, $ref)");
    }

    /** A local reference: "#", "#/$defs/Name" or "#/definitions/Name" (compiled once each). */
    private Shape resolve(String pointer) {
        Shape known = defs.get(pointer);
        if (known != null) return known;
        JsonNode target;
        if (pointer.startsWith("#/$defs/") || pointer.startsWith("#/definitions/")) {
            String[] parts = pointer.substring(2).split("/", 2);
            String name = parts[1].replace("~1", "/").replace("~0", "~");
            target = root.path(parts[0]).get(name);
        } else {
            throw new Owl2jException("$ref '" + pointer + "' is not supported (only #, #/$defs/NAME and #/definitions/NAME)");
        }
        if (target == null) throw new Owl2jException("$ref '" + pointer + "' names no definition");
        Shape s = shape(target, pointer); // its own references are resolved later by the caller's loop
        defs.put(pointer, s);
        return s;
    }

    /** Fewest bytes of every shape, by iterating to a fixed point (references may be recursive). */
    private void computeLengths() {
        boolean changed = true;
        for (int round = 0; changed && round < all.size() + 2; round++) {
            changed = false;
            for (Shape s : all) {
                int before = s.minLength;
                int now = length(s);
                if (now < before) {
                    s.minLength = now;
                    changed = true;
                }
            }
        }
        for (Shape s : all) if (s instanceof Shape.Obj o) objectCosts(o);
    }

    private int length(Shape s) {
        return switch (s) {
            case Shape.Any a -> 1; // 0
            case Shape.Num n -> 1;
            case Shape.Str t -> 2 + t.min;
            case Shape.Lit l -> l.values.shortestRest(0, l.values.size(), 0);
            case Shape.Arr a -> a.min == 0 ? 2 : sat(2 + (long) a.min * a.items.minLength + a.min - 1);
            case Shape.AnyOf o -> o.alternatives.stream().mapToInt(x -> x.minLength).min().orElse(Shape.INFINITE);
            case Shape.Ref r -> r.target == null ? Shape.INFINITE : r.target.minLength;
            case Shape.Obj o -> {
                objectCosts(o);
                yield o.free ? 2 : sat(1L + Math.min(o.requiredFrom(0) ? Shape.INFINITE : 1, o.key[0]));
            }
        };
    }

    /** The object's key tables and remaining-cost tables from the current lengths of its properties. */
    private static void objectCosts(Shape.Obj o) {
        int n = o.properties.size();
        if (o.keys == null) {
            o.keys = new Shape.Literals[n + 1];
            for (int i = 0; i <= n; i++) {
                List<byte[]> values = new ArrayList<>();
                List<Integer> payload = new ArrayList<>();
                for (int j = i; j < n; j++) {
                    try {
                        values.add(JSON.writeValueAsString(o.properties.get(j).name()).getBytes(StandardCharsets.UTF_8));
                    } catch (JsonProcessingException e) {
                        throw new IllegalStateException(e);
                    }
                    payload.add(j);
                    if (o.properties.get(j).required()) break; // a required property cannot be skipped
                }
                o.keys[i] = new Shape.Literals(values, payload);
            }
        }
        o.close = new int[n + 1];
        o.key = new int[n + 1];
        o.close[n] = 1;
        o.key[n] = Shape.INFINITE;
        for (int i = n - 1; i >= 0; i--) {
            long best = Shape.INFINITE;
            Shape.Literals t = o.keys[i];
            for (int c = 0; c < t.size(); c++) {
                int j = t.payload[c];
                best = Math.min(best, (long) t.values[c].length + 1 + o.properties.get(j).shape().minLength + o.close[j + 1]);
            }
            o.key[i] = sat(best);
            o.close[i] = sat(Math.min(o.requiredFrom(i) ? Shape.INFINITE : 1, 1L + o.key[i]));
        }
    }

    static int sat(long v) {
        return (int) Math.min(v, Shape.INFINITE);
    }
}
