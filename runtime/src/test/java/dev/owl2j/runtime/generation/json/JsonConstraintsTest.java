package dev.owl2j.runtime.generation.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.generation.LogitProcessing;
import dev.owl2j.runtime.generation.Sampler;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TokenConstraint;
import dev.owl2j.runtime.generation.TokenVocabulary;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Constrained decoding against a random "model" (random logits each step) over a vocabulary of every single byte
 * plus multi-byte tokens that cross JSON's structure: every output must parse (Jackson) and satisfy the schema
 * (a validator written here, independently of the matcher), and end with EOS whenever the budget is at least the
 * shortest value plus one. Also: the matcher's verdicts on hand-written texts, and unsupported schemas refused.
 */
class JsonConstraintsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int EOS = 2;

    /** ids 0-2 control (2 = EOS), 3-258 the 256 bytes, then multi-byte pieces. */
    static TokenVocabulary vocabulary() {
        List<byte[]> tokens = new ArrayList<>();
        tokens.add(null);
        tokens.add(null);
        tokens.add(null);
        for (int b = 0; b < 256; b++) tokens.add(new byte[]{(byte) b});
        for (String s : List.of("{\"", "\":", "\": \"", "\",", "\", \"", "}", "},", "]}", "[{", "true", "false", "null", " {", "{\n  \"",
                ",\n  \"", "name", "age", "tags", "\"name\"", "\"age\":", "12", "3.5", "-1", "e+9", "1e", "abc", " the", "é", "😀", "\\n",
                "\\u00e9", "\\\"", "\"}", "\"]", ", ", "  ", "\n", "\"\"", "[]", "{}", "red", "\"red\"", "blue", "1}", "0,", "\"x\":\"y\"}")) {
            tokens.add(s.getBytes(StandardCharsets.UTF_8));
        }
        return new TokenVocabulary(tokens.toArray(byte[][]::new), EOS);
    }

    static final TokenVocabulary VOCAB = vocabulary();
    static final JsonConstraints CONSTRAINTS = new JsonConstraints(VOCAB);

    static JsonNode parse(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new AssertionError(s, e);
        }
    }

    /** Generates with random logits; returns the text and whether it ended with EOS. */
    record Run(String text, boolean ended, int tokens) {}

    static Run generate(TokenConstraint.Factory grammar, int maxTokens, long seed, double temperature) {
        SamplingParams p = new SamplingParams(temperature, 0, 1.0, seed, maxTokens, List.of())
                .withProcessing(LogitProcessing.NONE.withConstraint(grammar));
        Sampler sampler = new Sampler(p);
        Random r = new Random(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int n = 0; n < maxTokens; n++) {
            float[] logits = new float[VOCAB.size()];
            for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextGaussian() * 3);
            int id = sampler.next(logits);
            if (id == EOS) return new Run(out.toString(StandardCharsets.UTF_8), true, n + 1);
            out.writeBytes(VOCAB.bytes()[id]);
        }
        return new Run(out.toString(StandardCharsets.UTF_8), false, maxTokens);
    }

    static final List<String> SCHEMAS = List.of(
            "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}},\"required\":[\"name\",\"age\"],\"additionalProperties\":false}",
            "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},\"b\":{\"type\":\"number\"},\"c\":{\"type\":\"null\"}},\"required\":[\"c\"]}",
            "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":3},\"minItems\":2,\"maxItems\":4}",
            "{\"type\":\"object\",\"properties\":{\"color\":{\"enum\":[\"red\",\"blue\",\"green\",12,null]},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"color\",\"tags\"]}",
            "{\"anyOf\":[{\"type\":\"string\",\"minLength\":2},{\"type\":\"integer\"},{\"type\":\"object\",\"properties\":{\"x\":{\"const\":\"y\"}},\"required\":[\"x\"]}]}",
            "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},\"next\":{\"anyOf\":[{\"$ref\":\"#/$defs/node\"},{\"type\":\"null\"}]}},\"required\":[\"v\",\"next\"]}},\"$ref\":\"#/$defs/node\"}",
            "{\"type\":[\"string\",\"null\"]}",
            "{\"type\":\"object\"}",
            "{}",
            "{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\",\"minLength\":5,\"maxLength\":6},\"n\":{\"type\":\"number\"}},\"required\":[\"s\"]}");

    @Test
    void randomModelsAlwaysWriteValidJsonOfTheSchema() {
        for (String text : SCHEMAS) {
            JsonNode schema = parse(text);
            TokenConstraint.Factory g = CONSTRAINTS.schema(schema, "schema");
            int shortest = JsonMatcher.start(SchemaCompiler.compile(schema, "schema")).distance();
            for (int seed = 0; seed < 40; seed++) {
                // budgets from the tightest that can finish (shortest + EOS) to roomy
                int budget = seed % 4 == 0 ? shortest + 1 : seed % 4 == 1 ? shortest + 3 : 60 + seed * 5;
                Run run = generate(g, budget, seed, seed % 3 == 0 ? 2.0 : 1.0);
                assertTrue(run.ended(), text + " seed " + seed + " budget " + budget + " did not end: " + run.text());
                SchemaValidator.validate(parse(run.text()), schema);
            }
        }
    }

    @Test
    void jsonObjectModeWritesObjects() {
        for (int seed = 0; seed < 60; seed++) {
            Run run = generate(CONSTRAINTS.anyObject(), 3 + seed * 3, seed, 1.5);
            assertTrue(run.ended(), run.text());
            assertTrue(parse(run.text()).isObject(), run.text());
        }
    }

    @Test
    void greedyFollowsTheModelWhereTheSchemaAllows() {
        // A model that always prefers token "{" then the key: the mask must not stop it from doing so.
        JsonNode schema = parse(SCHEMAS.getFirst());
        Run run = generate(CONSTRAINTS.schema(schema, "s"), 200, 7, 0);
        assertTrue(run.ended());
        SchemaValidator.validate(parse(run.text()), schema);
    }

    static boolean accepts(String schema, String text) {
        JsonMatcher.State s = JsonMatcher.start(SchemaCompiler.compile(parse(schema), "s"));
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            s = s.advance(b & 0xff);
            if (s == null) return false;
        }
        return s.canEnd();
    }

    @Test
    void theMatchersVerdictsOnWrittenTexts() {
        String person = SCHEMAS.getFirst();
        assertTrue(accepts(person, "{\"name\":\"Ann\",\"age\":31}"));
        assertTrue(accepts(person, " {\n  \"name\": \"Ann \\\"A\\\" \\u00e9 😀\",\n  \"age\": -0}"));
        assertFalse(accepts(person, "{\"age\":31,\"name\":\"Ann\"}"), "properties come in the schema's order");
        assertFalse(accepts(person, "{\"name\":\"Ann\"}"), "age is required");
        assertFalse(accepts(person, "{\"name\":\"Ann\",\"age\":31,\"x\":1}"), "no other keys");
        assertFalse(accepts(person, "{\"name\":\"Ann\",\"age\":3.5}"), "an integer");
        assertFalse(accepts(person, "{\"name\":\"Ann\",\"age\":012}"), "no leading zeros");
        assertFalse(accepts(person, "{\"name\":\"A\u0001\",\"age\":1}"), "no raw control characters");
        assertFalse(accepts(person, "{\"name\":\"\\x\",\"age\":1}"), "no unknown escapes");
        assertFalse(accepts(person, "{\"name\":\"Ann\",\"age\":31} "), "nothing after the value");
        assertFalse(accepts(person, "{\"name\":\"Ann\",\"age\":31"), "incomplete");
        assertFalse(accepts(person, "{" + " ".repeat(JsonMatcher.MAX_WHITESPACE + 1) + "\"name\":\"A\",\"age\":1}"), "bounded whitespace");
        assertTrue(accepts("{\"type\":\"number\"}", "-12.5e+10"));
        assertFalse(accepts("{\"type\":\"number\"}", "1" + "0".repeat(JsonMatcher.MAX_DIGITS)), "at most 15 integer digits");
        assertTrue(accepts("{\"type\":\"string\",\"maxLength\":2}", "\"é😀\""));
        assertFalse(accepts("{\"type\":\"string\",\"maxLength\":2}", "\"abc\""));
        assertFalse(accepts("{\"type\":\"string\",\"minLength\":2}", "\"a\""));
        assertTrue(accepts(SCHEMAS.get(3), "{\"color\":12,\"tags\":[]}"));
        assertFalse(accepts(SCHEMAS.get(3), "{\"color\":\"pink\",\"tags\":[]}"));
        assertTrue(accepts(SCHEMAS.get(5), "{\"v\":1,\"next\":{\"v\":2,\"next\":null}}"));
        // Invalid UTF-8 inside a string is refused byte by byte.
        JsonMatcher.State s = JsonMatcher.start(SchemaCompiler.compile(parse("{\"type\":\"string\"}"), "s")).advance('"');
        assertNotNull(s.advance(0xe2));
        assertEquals(null, s.advance(0xe2).advance('a'));
        assertEquals(null, s.advance(0xc0));
        assertEquals(null, s.advance(0xed).advance(0xa0), "no surrogates");
    }

    @Test
    void unsupportedSchemasAreRefusedNamingTheKeyword() {
        for (String[] c : new String[][]{
                {"{\"type\":\"string\",\"pattern\":\"a+\"}", "unsupported keyword pattern at #"},
                {"{\"type\":\"string\",\"format\":\"email\"}", "unsupported keyword format at #"},
                {"{\"type\":\"integer\",\"minimum\":0}", "unsupported keyword minimum at #"},
                {"{\"type\":\"object\",\"properties\":{\"a\":{\"oneOf\":[{}]}}}", "unsupported keyword oneOf at #/properties/a"},
                {"{\"allOf\":[{}]}", "unsupported keyword allOf"},
                {"{\"type\":\"object\",\"patternProperties\":{}}", "unsupported keyword patternProperties"},
                {"{\"type\":\"array\",\"prefixItems\":[]}", "unsupported keyword prefixItems"},
                {"{\"type\":\"array\",\"uniqueItems\":true}", "unsupported keyword uniqueItems"},
                {"{\"type\":\"decimal\"}", "unknown type 'decimal'"},
                {"{\"$ref\":\"#/$defs/missing\"}", "names no definition"},
                {"{\"$ref\":\"http://example.com/s.json\"}", "is not supported"},
                {"{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"b\":{}}}", "required property 'a' is not defined"},
                {"{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}", "minLength > maxLength"},
                {"{\"enum\":[1,2],\"type\":\"string\"}", "no enum or const value"},
                {"false", "no value is valid"},
                {"{\"$defs\":{\"loop\":{\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#/$defs/loop\"}},\"required\":[\"x\"]}},\"$ref\":\"#/$defs/loop\"}", "no finite value"}}) {
            Owl2jException e = assertThrows(Owl2jException.class, () -> CONSTRAINTS.schema(parse(c[0]), "response_format.json_schema.schema"), c[0]);
            assertTrue(e.getMessage().startsWith("response_format.json_schema.schema: "), e.getMessage());
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
    }
}
