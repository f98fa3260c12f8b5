package dev.owl2j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Sampler;
import dev.owl2j.runtime.generation.TokenConstraint;
import dev.owl2j.runtime.generation.TokenVocabulary;
import dev.owl2j.runtime.generation.json.JsonConstraints;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * What constrained decoding (response_format json_schema / json_object) costs per generated token at the 7B
 * vocabulary: the LLaMA-2 tokenizer's 32000 tokens, the mask for each step plus advancing the matcher by the chosen
 * token, against the time of a decode step of the synthetic 7B model measured in the same process.
 * <ul>
 *   <li>documents: 40 JSON documents of a schema (nested object, array, strings, numbers, booleans) tokenized and fed
 *       token by token, as a model writing them would; once with empty caches (the first request with a new
 *       schema), then again (every later request with that schema);</li>
 *   <li>random: a random "model" (fresh random logits each step, the constrained argmax taken), the worst case for
 *       the mask cache because it wanders through states a real model rarely visits.</li>
 * </ul>
 * <pre>java -cp bench/target/benchmarks.jar dev.owl2j.bench.ConstrainedDecodingBench [--tokenizer FILE] [--decode q4_0|q8_0|none]</pre>
 */
public final class ConstrainedDecodingBench {
    static final String SCHEMA = """
            {"type":"object","properties":{
              "name":{"type":"string"},"age":{"type":"integer"},"email":{"type":"string"},
              "address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},"zip":{"type":"string"}},
                         "required":["street","city","zip"]},
              "tags":{"type":"array","items":{"type":"string"}},
              "scores":{"type":"array","items":{"type":"number"}},
              "active":{"type":"boolean"},"notes":{"anyOf":[{"type":"string"},{"type":"null"}]}},
             "required":["name","age","email","address","tags","scores","active","notes"]}""";
    static final String[] WORDS = {"river", "stone", "Lisbon", "garden", "quiet", "engineer", "Müller", "bicycle", "north",
            "harbor", "café", "violet", "report", "Tokyo", "seven", "lantern", "meadow", "orbit", "piano", "summit"};

    private ConstrainedDecodingBench() {}

    public static void main(String[] args) throws Exception {
        Path tokenizerFile = Path.of("testdata/tokenizer/llama2-tokenizer.json.gz");
        String decode = "q4_0";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--tokenizer" -> tokenizerFile = Path.of(args[++i]);
                case "--decode" -> decode = args[++i];
                default -> {
                    System.err.println("usage: ConstrainedDecodingBench [--tokenizer FILE] [--decode q4_0|q8_0|none]");
                    System.exit(2);
                }
            }
        }
        Tokenizer tokenizer = Tokenizer.load(tokenizerFile);
        byte[][] bytes = new byte[tokenizer.vocabSize()][];
        for (int i = 0; i < bytes.length; i++) bytes[i] = tokenizer.tokenBytes(i);
        TokenVocabulary vocabulary = new TokenVocabulary(bytes, tokenizer.eosId());
        JsonNode schema = new ObjectMapper().readTree(SCHEMA);
        List<int[]> documents = documents(tokenizer, 40);
        int docTokens = documents.stream().mapToInt(d -> d.length).sum();
        System.out.printf(Locale.ROOT, "vocabulary %d tokens; %d documents, %d tokens%n", vocabulary.size(), documents.size(), docTokens);

        long t0 = System.nanoTime();
        JsonConstraints constraints = new JsonConstraints(vocabulary);
        System.out.printf(Locale.ROOT, "vocabulary trie built in %.0f ms (once per model)%n", (System.nanoTime() - t0) / 1e6);
        System.out.println("workload                      tokens   ms/token   worst ms");
        feed("documents, empty caches", constraints.schema(schema, "schema"), documents, vocabulary, true);
        double warm = feed("documents, warm caches", constraints.schema(schema, "schema"), documents, vocabulary, false);
        double random = random("random model, json_schema", constraints.schema(schema, "schema"), vocabulary, 5, 300);
        random("random model, json_object", constraints.anyObject(), vocabulary, 5, 300);

        if (!decode.equals("none")) {
            Engine engine = BenchModels.synthetic7b(decode).engine();
            double one = stepMs(engine, 1, 8);
            double sixteen = stepMs(engine, 16, 3) / 16;
            System.out.printf(Locale.ROOT, "synthetic 7B %s decode: %.1f ms/token (1 session), %.1f ms/token per session (16 batched)%n",
                    decode, one, sixteen);
            System.out.printf(Locale.ROOT, "constrained decoding / decode time: documents (warm) %.2f %% / %.2f %%, random model %.2f %% / %.2f %%%n",
                    100 * warm / one, 100 * warm / sixteen, 100 * random / one, 100 * random / sixteen);
            engine.close();
        }
    }

    /** Documents of the schema with words from a fixed list; the tokenizer's ids, as a model would write them. */
    static List<int[]> documents(Tokenizer tokenizer, int n) {
        Random r = new Random(1);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder b = new StringBuilder();
            boolean pretty = i % 2 == 0;
            String nl = pretty ? "\n  " : "";
            String sp = pretty ? " " : "";
            b.append('{').append(nl).append("\"name\":").append(sp).append('"').append(words(r, 2)).append("\",").append(nl)
                    .append("\"age\":").append(sp).append(18 + r.nextInt(60)).append(',').append(nl)
                    .append("\"email\":").append(sp).append('"').append(WORDS[r.nextInt(WORDS.length)].toLowerCase(Locale.ROOT)).append("@example.com\",").append(nl)
                    .append("\"address\":").append(sp).append("{\"street\":").append(sp).append('"').append(r.nextInt(200)).append(' ').append(words(r, 2))
                    .append("\",").append(sp).append("\"city\":").append(sp).append('"').append(words(r, 1)).append("\",").append(sp)
                    .append("\"zip\":").append(sp).append('"').append(10000 + r.nextInt(89999)).append("\"},").append(nl)
                    .append("\"tags\":").append(sp).append('[');
            int tags = r.nextInt(4);
            for (int t = 0; t < tags; t++) b.append(t > 0 ? "," + sp : "").append('"').append(words(r, 1)).append('"');
            b.append("],").append(nl).append("\"scores\":").append(sp).append('[');
            int scores = 1 + r.nextInt(4);
            for (int t = 0; t < scores; t++) b.append(t > 0 ? "," + sp : "").append(String.format(Locale.ROOT, "%.2f", r.nextDouble() * 100));
            b.append("],").append(nl).append("\"active\":").append(sp).append(r.nextBoolean()).append(',').append(nl)
                    .append("\"notes\":").append(sp).append(r.nextBoolean() ? "null" : "\"" + words(r, 8) + "\"").append(pretty ? "\n}" : "}");
            out.add(tokenizer.encode(b.toString(), false));
        }
        return out;
    }

    private static String words(Random r, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) b.append(i > 0 ? " " : "").append(WORDS[r.nextInt(WORDS.length)]);
        return b.toString();
    }

    /** Feeds each document token by token (mask, then accept); the mean ms per token. */
    static double feed(String name, TokenConstraint.Factory grammar, List<int[]> documents, TokenVocabulary vocabulary, boolean cold) {
        long total = 0, worst = 0;
        int tokens = 0;
        float[] logits = new float[vocabulary.size()];
        for (int[] doc : documents) {
            TokenConstraint c = grammar.start();
            for (int k = 0; k <= doc.length; k++) {
                int id = k < doc.length ? doc[k] : vocabulary.eosId();
                Arrays.fill(logits, 0f);
                long t = System.nanoTime();
                c.mask(logits, 4096 - k);
                if (logits[id] == Float.NEGATIVE_INFINITY) throw new IllegalStateException("the schema's mask refused token " + id + " of a valid document");
                c.accept(id);
                long d = System.nanoTime() - t;
                total += d;
                worst = Math.max(worst, d);
                tokens++;
            }
        }
        double mean = total / 1e6 / tokens;
        System.out.printf(Locale.ROOT, "%-28s %7d   %8.3f   %8.1f%n", name, tokens, mean, worst / 1e6);
        return mean;
    }

    /** Random logits each step, the constrained argmax taken: the mask cache's worst case. */
    static double random(String name, TokenConstraint.Factory grammar, TokenVocabulary vocabulary, int sequences, int maxTokens) {
        Random r = new Random(5);
        long total = 0, worst = 0;
        int tokens = 0;
        float[] logits = new float[vocabulary.size()];
        for (int s = 0; s < sequences; s++) {
            TokenConstraint c = grammar.start();
            for (int k = 0; k < maxTokens; k++) {
                for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian();
                long t = System.nanoTime();
                c.mask(logits, maxTokens - k);
                int id = Sampler.argmax(logits);
                c.accept(id);
                long d = System.nanoTime() - t;
                total += d;
                worst = Math.max(worst, d);
                tokens++;
                if (id == vocabulary.eosId()) break;
            }
        }
        double mean = total / 1e6 / tokens;
        System.out.printf(Locale.ROOT, "%-28s %7d   %8.3f   %8.1f%n", name, tokens, mean, worst / 1e6);
        return mean;
    }

    /** Mean ms of one decode step of {@code batch} sessions (8 prompt positions each). */
    static double stepMs(Engine engine, int batch, int steps) {
        List<Engine.Session> sessions = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            Engine.Session session = engine.newSession();
            session.prefill(new int[]{1, 450, 4996, 17354, 1701, 432, 29889, 13}, List.of());
            sessions.add(session);
        }
        int[] tokens = new int[batch];
        Arrays.fill(tokens, 29871);
        engine.stepBatch(sessions, tokens); // warm-up
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) engine.stepBatch(sessions, tokens);
        double ms = (System.nanoTime() - t0) / 1e6 / steps;
        for (Engine.Session s : sessions) s.close();
        return ms;
    }
}
