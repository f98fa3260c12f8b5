package dev.owl2j.runtime.generation.json;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.generation.TokenConstraint;
import dev.owl2j.runtime.generation.TokenVocabulary;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Constrained decoding to JSON for one vocabulary: {@code response_format} json_object (any object) and
 * json_schema (the subset {@link SchemaCompiler} supports). Each step the token mask comes from walking the
 * vocabulary's byte trie with the {@link JsonMatcher} state; masks are cached per state, which pays because
 * states repeat (the whole length of a free string is one state, so are the positions of a schema's structure
 * across requests). Compiled schemas are cached by their text. Thread-safe.
 *
 * <p>Termination: a token is allowed only if the bytes still due after it (the matcher's distance to the end)
 * fit the tokens left with one to spare for EOS. Every byte has a token of its own (byte-fallback pieces), so
 * the next byte of the shortest completion always fits: a value of the schema always finishes, with EOS,
 * when max_tokens is at least its shortest form plus one.
 */
public final class JsonConstraints {
    static final int MASKS_PER_GRAMMAR = 256;
    static final int GRAMMARS = 16;

    private final TokenVocabulary vocabulary;
    private final TokenTrie trie;
    private final Grammar anyObject;
    private final Map<String, Grammar> grammars = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Grammar> eldest) {
            return size() > GRAMMARS;
        }
    };

    public JsonConstraints(TokenVocabulary vocabulary) {
        this.vocabulary = vocabulary;
        this.trie = new TokenTrie(vocabulary);
        this.anyObject = new Grammar(SchemaCompiler.anyObject());
    }

    /** The most bytes a schema file may have. */
    public static final long MAX_SCHEMA_FILE_BYTES = 1 << 20;

    /**
     * A JSON Schema read from a file (the CLI's --json-schema): a regular file of at most 1 MiB holding one JSON
     * value, nested at most 64 deep; anything else is a one-line Owl2jException naming the file.
     */
    public static JsonNode readSchema(java.nio.file.Path file) {
        try {
            if (!java.nio.file.Files.isRegularFile(file)) throw new Owl2jException(file + ": not a regular file");
            if (java.nio.file.Files.size(file) > MAX_SCHEMA_FILE_BYTES) {
                throw new Owl2jException(file + ": larger than " + MAX_SCHEMA_FILE_BYTES + " bytes, too large for a schema");
            }
            com.fasterxml.jackson.core.JsonFactory f = com.fasterxml.jackson.core.JsonFactory.builder()
                    .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder().maxNestingDepth(64).build())
                    .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
            JsonNode n = new com.fasterxml.jackson.databind.ObjectMapper(f)
                    .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(file.toFile());
            if (n == null || !(n.isObject() || n.isBoolean())) throw new Owl2jException(file + ": a JSON Schema must be an object");
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String msg = e.getOriginalMessage() == null ? "" : e.getOriginalMessage().lines().findFirst().orElse("");
            throw new Owl2jException(file + ": not valid JSON (" + (msg.length() > 120 ? msg.substring(0, 120) + "..." : msg) + ")");
        } catch (java.io.IOException e) {
            throw new Owl2jException(file + ": cannot read it" + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"));
        }
    }

    /** Any JSON object. */
    public TokenConstraint.Factory anyObject() {
        return anyObject;
    }

    /**
     * Values of {@code schema}; an unsupported or contradictory schema is an Owl2jException whose one line starts
     * with {@code what} and names the keyword and its place.
     */
    public TokenConstraint.Factory schema(JsonNode schema, String what) {
        String key = schema.toString();
        synchronized (grammars) {
            Grammar g = grammars.get(key);
            if (g != null) return g;
        }
        Grammar g = new Grammar(SchemaCompiler.compile(schema, what));
        synchronized (grammars) {
            grammars.put(key, g);
        }
        return g;
    }

    /** A mask: the tokens allowed, and the largest distance to the end that one of them leaves. */
    record Mask(long[] bits, int farthest) {}

    /** One compiled schema and its mask caches. */
    final class Grammar implements TokenConstraint.Factory {
        private final Shape root;
        private final Map<JsonMatcher.State, Mask> masks = lru();
        private final Map<Limited, Mask> limited = lru();

        Grammar(Shape root) {
            this.root = root;
        }

        @Override
        public TokenConstraint start() {
            return new Constraint(this, JsonMatcher.start(root));
        }

        /** The tokens allowed after {@code s}. */
        Mask mask(JsonMatcher.State s) {
            synchronized (masks) {
                Mask m = masks.get(s);
                if (m != null) return m;
            }
            Mask m = walk(s, Integer.MAX_VALUE);
            synchronized (masks) {
                masks.put(s, m);
            }
            return m;
        }

        /** The tokens allowed after {@code s} that leave at most {@code limit} bytes to the end. */
        Mask mask(JsonMatcher.State s, int limit) {
            Limited key = new Limited(s, limit);
            synchronized (limited) {
                Mask m = limited.get(key);
                if (m != null) return m;
            }
            Mask m = walk(s, limit);
            synchronized (limited) {
                limited.put(key, m);
            }
            return m;
        }

        private Mask walk(JsonMatcher.State s, int limit) {
            long[] bits = new long[(vocabulary.size() + 63) >>> 6];
            int[] farthest = {0};
            walk(0, s, bits, limit, farthest, new ArrayList<>(4));
            return new Mask(bits, farthest[0]);
        }

        private void walk(int node, JsonMatcher.State s, long[] bits, int limit, int[] farthest, List<JsonMatcher.Stack> scratch) {
            int end = trie.firstChild[node] + trie.childCount[node];
            for (int i = trie.firstChild[node]; i < end; i++) {
                int c = trie.child[i];
                JsonMatcher.State t = s.advance(trie.edge[c] & 0xff, scratch);
                if (t == null) continue;
                int[] tokens = trie.tokensAt[c];
                if (tokens != null) {
                    int d = t.distance();
                    if (d <= limit) {
                        for (int tok : tokens) bits[tok >>> 6] |= 1L << tok;
                        farthest[0] = Math.max(farthest[0], d);
                    }
                }
                walk(c, t, bits, limit, farthest, scratch);
            }
        }
    }

    private record Limited(JsonMatcher.State state, int limit) {}

    private static <K, V> Map<K, V> lru() {
        return new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > MASKS_PER_GRAMMAR;
            }
        };
    }

    /** One sequence's position in the grammar. */
    private final class Constraint implements TokenConstraint {
        private final Grammar grammar;
        private JsonMatcher.State state;
        private boolean ended;

        Constraint(Grammar grammar, JsonMatcher.State state) {
            this.grammar = grammar;
            this.state = state;
        }

        /**
         * Keeps the value finishable: after this token {@code remaining - 1} tokens are left, which must hold the
         * bytes still due (at worst one token each) and the end token. While no allowed token can break that, the
         * cached mask of the state is used as is.
         */
        @Override
        public void mask(float[] logits, int remaining) {
            if (ended) return;
            Mask m = grammar.mask(state);
            boolean eosOk = state.canEnd();
            if (m.farthest() > remaining - 2) {
                Mask fits = grammar.mask(state, remaining - 2);
                if (isEmpty(fits.bits()) && !eosOk) {
                    // The budget was too small from the start: at least come closer to the end.
                    fits = grammar.mask(state, state.distance() - 1);
                }
                if (!isEmpty(fits.bits()) || eosOk) m = fits;
            }
            boolean any = false;
            int eos = vocabulary.eosId();
            long[] bits = m.bits();
            for (int i = 0; i < logits.length; i++) {
                boolean ok = i == eos ? eosOk : i < vocabulary.size() && (bits[i >>> 6] & (1L << i)) != 0;
                if (ok) any = true;
                else logits[i] = Float.NEGATIVE_INFINITY;
            }
            if (!any) {
                throw new Owl2jException("constrained decoding: no token of the vocabulary continues the JSON here"
                        + " (the vocabulary lacks single-byte tokens)");
            }
        }

        private static boolean isEmpty(long[] bits) {
            for (long b : bits) if (b != 0) return false;
            return true;
        }

        @Override
        public void accept(int token) {
            if (ended) return;
            if (token == vocabulary.eosId()) {
                ended = true;
                return;
            }
            byte[] b = token >= 0 && token < vocabulary.size() ? vocabulary.bytes()[token] : null;
            JsonMatcher.State s = state;
            for (int i = 0; b != null && s != null && i < b.length; i++) s = s.advance(b[i] & 0xff);
            if (b == null || s == null) {
                throw new IllegalStateException("token " + token + " was drawn although the JSON mask refused it");
            }
            state = s;
        }
    }
}
