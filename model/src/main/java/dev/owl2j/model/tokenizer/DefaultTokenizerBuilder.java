package dev.owl2j.model.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a LLaMA-shaped {@code tokenizer.json} that the project builds itself, for models without a real
 * tokenizer (the embedded random default model). Layout: ids 0, 1, 2 = {@code <unk>}, {@code <s>}, {@code </s>};
 * ids 3..258 = byte-fallback pieces {@code <0x00>..<0xFF>}; then "▁" and printable ASCII; then BPE merges learnt
 * by a small trainer on the English text below (most frequent pair first, ties by earliest pair), and, once that
 * text has nothing left to merge, generated merges (each learnt token extended by one letter, in id order) until
 * exactly {@code vocabSize} ids exist. Everything is deterministic, so the same size always gives the same file.
 * It shares no data with the LLaMA vocabulary; any text round-trips through it (bytes cover the rest).
 */
public final class DefaultTokenizerBuilder {
    private DefaultTokenizerBuilder() {}

    private static final String SPACE = "\u2581";
    private static final String[] SPECIALS = {"<unk>", "<s>", "</s>"};

    /** Training text, written for this project: short descriptions of pictures and plain chat. */
    private static final String TEXT = """
            The picture shows a small dog sitting on a wooden bench in a park. Behind the dog there is a large tree
            with green leaves, and the sky is blue with a few white clouds. A woman in a red coat walks along the
            path on the left side of the image, holding a cup of coffee. Two children are playing with a ball near
            the fountain. What is in this image? Describe the image in detail. The image shows a kitchen with a
            white table, four chairs and a window. On the table there are three apples, a bottle of water and a
            plate of bread. The light comes from the window on the right. How many people are in the photo? There
            are five people in the photo: two men, two women and a child. They are standing in front of a building
            and smiling at the camera. What color is the car? The car is red and it is parked next to a yellow
            house. Is there a cat in the picture? No, there is no cat, but there is a bird on the roof. Please
            answer the question using a single word or phrase. Answer with the option's letter from the given
            choices directly. The text on the sign says: open every day from nine to five. A man is riding a
            bicycle down a busy street in the city at night, with bright lights from shops and cars around him.
            The mountains in the background are covered with snow, and a lake reflects the trees. This is a
            photograph of a plate of food: rice, vegetables and a piece of chicken with sauce. Thank you! You are
            welcome. Can you tell me more about the people in the image? Sure. The person on the left is wearing
            a blue shirt and glasses, and the person on the right is reading a book. The weather looks sunny and
            warm. There is a boat on the water and a bridge in the distance. The room has a bed, a lamp, a desk
            with a computer, and a shelf with many books. The train is arriving at the station while people wait
            on the platform. Write a short story about this picture. Once upon a time, in a quiet village near the
            sea, there lived an old fisherman who went out every morning before the sun came up.
            """;

    /** Writes the tokenizer to {@code out} (tokenizer.json format) with exactly {@code vocabSize} ids. */
    public static void write(int vocabSize, Path out) {
        ObjectNode json = build(vocabSize);
        try {
            Files.writeString(out, new ObjectMapper().writeValueAsString(json));
        } catch (IOException e) {
            throw new Owl2jException("cannot write tokenizer " + out + ": " + e.getMessage());
        }
    }

    static ObjectNode build(int vocabSize) {
        List<String> base = new ArrayList<>();
        base.add(SPACE);
        for (char c = 0x21; c <= 0x7e; c++) {
            base.add(String.valueOf(c));
        }
        int minimum = SPECIALS.length + 256 + base.size();
        if (vocabSize < minimum) {
            throw new Owl2jException("a default tokenizer needs at least " + minimum + " ids, asked for " + vocabSize);
        }
        LinkedHashMap<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : SPECIALS) {
            vocab.put(s, vocab.size());
        }
        for (int b = 0; b < 256; b++) {
            vocab.put(String.format("<0x%02X>", b), vocab.size());
        }
        for (String s : base) {
            vocab.put(s, vocab.size());
        }
        List<String[]> merges = new ArrayList<>();
        train(vocabSize, vocab, merges);
        fill(vocabSize, vocab, merges);
        return toJson(vocab, merges);
    }

    /** Plain BPE over the words of TEXT (each word "▁"-prefixed, merges never cross words). */
    private static void train(int vocabSize, Map<String, Integer> vocab, List<String[]> merges) {
        Map<String, Integer> wordCounts = new LinkedHashMap<>();
        for (String w : TEXT.trim().split("\\s+")) {
            wordCounts.merge(SPACE + w, 1, Integer::sum);
        }
        List<List<String>> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (Map.Entry<String, Integer> e : wordCounts.entrySet()) {
            List<String> symbols = new ArrayList<>();
            e.getKey().codePoints().forEach(cp -> symbols.add(Character.toString(cp)));
            words.add(symbols);
            counts.add(e.getValue());
        }
        while (vocab.size() < vocabSize) {
            Map<String, Integer> pairCounts = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<String> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) {
                    pairCounts.merge(s.get(i) + "\u0000" + s.get(i + 1), counts.get(w), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 0;
            for (Map.Entry<String, Integer> e : pairCounts.entrySet()) {
                if (e.getValue() > bestCount || (e.getValue() == bestCount && earlier(e.getKey(), best, vocab))) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best == null) {
                return;
            }
            String left = best.substring(0, best.indexOf('\u0000'));
            String right = best.substring(best.indexOf('\u0000') + 1);
            String merged = left + right;
            merges.add(new String[] {left, right});
            vocab.putIfAbsent(merged, vocab.size());
            for (List<String> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i).equals(left) && s.get(i + 1).equals(right)) {
                        s.set(i, merged);
                        s.remove(i + 1);
                    }
                }
            }
        }
    }

    private static boolean earlier(String pair, String other, Map<String, Integer> vocab) {
        if (other == null) {
            return true;
        }
        int a = pair.indexOf('\u0000'), b = other.indexOf('\u0000');
        int l1 = vocab.get(pair.substring(0, a)), l2 = vocab.get(other.substring(0, b));
        if (l1 != l2) {
            return l1 < l2;
        }
        return vocab.get(pair.substring(a + 1)) < vocab.get(other.substring(b + 1));
    }

    /** Generated merges: every token from "▁" on, in id order, extended by one lowercase letter, then repeated. */
    private static void fill(int vocabSize, LinkedHashMap<String, Integer> vocab, List<String[]> merges) {
        int firstBase = SPECIALS.length + 256;
        List<String> tokens = new ArrayList<>(vocab.keySet());
        Set<String> known = new HashSet<>(vocab.keySet());
        for (int i = firstBase; vocab.size() < vocabSize; i++) {
            String left = tokens.get(i);
            for (char c = 'a'; c <= 'z' && vocab.size() < vocabSize; c++) {
                String right = String.valueOf(c);
                String merged = left + right;
                if (known.add(merged)) {
                    merges.add(new String[] {left, right});
                    vocab.put(merged, vocab.size());
                    tokens.add(merged);
                }
            }
        }
    }

    private static ObjectNode toJson(Map<String, Integer> vocab, List<String[]> merges) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < SPECIALS.length; i++) {
            ObjectNode t = added.addObject();
            t.put("id", i).put("content", SPECIALS[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer");
        normalizer.put("type", "Sequence");
        ArrayNode ns = normalizer.putArray("normalizers");
        ns.addObject().put("type", "Prepend").put("prepend", SPACE);
        ObjectNode replace = ns.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", SPACE);
        root.putNull("pre_tokenizer");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "Sequence");
        ArrayNode ds = decoder.putArray("decoders");
        ObjectNode dr = ds.addObject().put("type", "Replace");
        dr.putObject("pattern").put("String", SPACE);
        dr.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.put("unk_token", "<unk>").putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true).put("byte_fallback", true);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        ArrayNode ms = model.putArray("merges");
        for (String[] mg : merges) {
            ms.add(mg[0] + " " + mg[1]);
        }
        return root;
    }
}
