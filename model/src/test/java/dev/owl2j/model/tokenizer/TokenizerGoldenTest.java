package dev.owl2j.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.TestData;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Encode/decode against ids from independent tokenizers (see scripts/goldens/tokenizer):
 * the real LLaMA-2 vocabulary (llama-tokenizer-js and @lenml/tokenizers agree on every case) and a small
 * SentencePiece BPE model trained by spm_train, with ids and decodes from python sentencepiece 0.1.97.
 * All comparisons are exact.
 */
class TokenizerGoldenTest {
    static Path dir() {
        return TestData.root().resolve("tokenizer");
    }

    static Tokenizer llama() {
        return Tokenizer.load(dir().resolve("llama2-tokenizer.json.gz"));
    }

    static Tokenizer small() {
        return Tokenizer.load(dir().resolve("small-bpe.model"));
    }

    static JsonNode json(String name) throws IOException {
        return new ObjectMapper().readTree(dir().resolve(name).toFile());
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asInt();
        }
        return r;
    }

    static boolean hasSpecialText(String s) {
        return s.contains("<s>") || s.contains("</s>") || s.contains("<unk>");
    }

    @Test
    void llamaVocabularyMatchesReferenceIds() throws IOException {
        Tokenizer t = llama();
        assertEquals(32000, t.vocabSize());
        assertEquals(1, t.bosId());
        assertEquals(2, t.eosId());
        JsonNode cases = json("llama2-goldens.json").get("cases");
        assertTrue(cases.size() >= 200, "at least 200 golden strings");
        List<String> failures = new ArrayList<>();
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] want = ints(c.get("ids"));
            int[] got = t.encode(text, false);
            if (!java.util.Arrays.equals(want, got)) {
                failures.add(quote(text) + " want " + java.util.Arrays.toString(want) + " got " + java.util.Arrays.toString(got));
            }
            int[] withBos = t.encode(text);
            assertEquals(1, withBos[0]);
            assertArrayEquals(got, java.util.Arrays.copyOfRange(withBos, 1, withBos.length));
        }
        assertTrue(failures.isEmpty(), failures.size() + " mismatches:\n" + String.join("\n", failures));
    }

    @Test
    void llamaPublishedIds() {
        Tokenizer t = llama();
        assertArrayEquals(new int[] {1, 15043, 3186}, t.encode("Hello world"));
        assertArrayEquals(new int[] {1, 3148, 1001, 29901, 29871}, t.encode("USER: "));
        assertEquals("▁Hello", t.piece(15043));
        assertEquals("<0x0A>", t.piece(13));
    }

    @Test
    void llamaDecodeInvertsEncode() throws IOException {
        // SentencePiece with the identity normalizer round-trips any text; "▁" in the input decodes as a space and
        // special-token text is dropped, so those cases are left out.
        Tokenizer t = llama();
        int checked = 0;
        for (JsonNode c : json("llama2-goldens.json").get("cases")) {
            String text = c.get("text").asText();
            if (hasSpecialText(text) || text.indexOf('\u2581') >= 0) {
                continue;
            }
            int[] ids = t.encode(text);
            assertEquals(text, t.decode(ids), quote(text));
            assertEquals(text, streamed(t, ids), "streaming " + quote(text));
            checked++;
        }
        assertTrue(checked >= 200, "checked " + checked);
    }

    @Test
    void smallModelMatchesSentencePiece() throws IOException {
        Tokenizer t = small();
        JsonNode g = json("small-bpe-goldens.json");
        assertEquals(g.get("vocab_size").asInt(), t.vocabSize());
        assertEquals(g.get("bos").asInt(), t.bosId());
        assertEquals(g.get("eos").asInt(), t.eosId());
        for (int i = 0; i < t.vocabSize(); i++) {
            assertEquals(g.get("pieces").get(i).asText(), t.piece(i), "piece " + i);
        }
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (JsonNode c : g.get("cases")) {
            String text = c.get("text").asText();
            int[] ids = ints(c.get("ids"));
            // Plain sentencepiece does not cut out special-token text; LlamaTokenizer (and we) do.
            if (!hasSpecialText(text)) {
                int[] got = t.encode(text, false);
                if (!java.util.Arrays.equals(ids, got)) {
                    failures.add(quote(text) + " want " + java.util.Arrays.toString(ids) + " got " + java.util.Arrays.toString(got));
                }
                checked++;
            }
            String decoded = c.get("decoded").asText();
            assertEquals(decoded, t.decode(ids), "decode " + quote(text));
            assertEquals(decoded, streamed(t, ids), "streaming decode " + quote(text));
        }
        assertTrue(failures.isEmpty(), failures.size() + " mismatches:\n" + String.join("\n", failures));
        assertTrue(checked >= 250, "checked " + checked);
    }

    @Test
    void smallModelDecodesArbitraryIdsAsSentencePiece() throws IOException {
        // Random id runs: byte pieces that do not form UTF-8, leading "▁" pieces, special ids mixed in.
        Tokenizer t = small();
        int n = 0;
        for (JsonNode c : json("small-bpe-goldens.json").get("decodes")) {
            int[] ids = ints(c.get("ids"));
            String want = c.get("decoded_skip").asText();
            assertEquals(want, t.decode(ids), "decode " + c.get("ids"));
            assertEquals(want, streamed(t, ids), "streaming decode " + c.get("ids"));
            n++;
        }
        assertTrue(n >= 150);
    }

    @Test
    void unusedPiecesAreSplitBackAsSentencePiece() throws IOException {
        checkVariant("small-bpe-unused");
    }

    @Test
    void withoutByteFallbackRareCharactersBecomeOneUnk() throws IOException {
        checkVariant("small-bpe-nofallback");
    }

    private static void checkVariant(String name) throws IOException {
        Tokenizer t = Tokenizer.load(dir().resolve(name + ".model"));
        JsonNode g = json(name + "-goldens.json");
        assertEquals(g.get("vocab_size").asInt(), t.vocabSize());
        List<String> failures = new ArrayList<>();
        for (JsonNode c : g.get("cases")) {
            String text = c.get("text").asText();
            int[] ids = ints(c.get("ids"));
            if (!hasSpecialText(text) && !java.util.Arrays.equals(ids, t.encode(text, false))) {
                failures.add(quote(text) + " want " + java.util.Arrays.toString(ids) + " got "
                        + java.util.Arrays.toString(t.encode(text, false)));
            }
            assertEquals(c.get("decoded_skip").asText(), t.decode(ids), "decode " + quote(text));
            assertEquals(c.get("decoded_skip").asText(), streamed(t, ids), "streaming decode " + quote(text));
        }
        assertTrue(failures.isEmpty(), failures.size() + " mismatches:\n" + String.join("\n", failures));
    }

    static String streamed(Tokenizer t, int[] ids) {
        StreamingDecoder d = t.newStreamingDecoder();
        StringBuilder b = new StringBuilder();
        for (int id : ids) {
            b.append(d.accept(id));
        }
        return b.append(d.finish()).toString();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f) {
                b.append(String.format("\\u%04x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.append('"').toString();
    }
}
