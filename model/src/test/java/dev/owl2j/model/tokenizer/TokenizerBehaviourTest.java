package dev.owl2j.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Streaming, special-token decoding, the self-built default tokenizer, loading and error messages. */
class TokenizerBehaviourTest {
    static final Tokenizer LLAMA = TokenizerGoldenTest.llama();

    @Test
    void theLengthBoundNeverPassesTheTrueTokenCount() {
        java.util.Random r = new java.util.Random(5);
        String alphabet = "aaaaabbbcde      \n\t.,!?0123456789éü😀中</s><s>";
        for (int trial = 0; trial < 300; trial++) {
            StringBuilder b = new StringBuilder();
            int n = r.nextInt(400);
            while (b.length() < n) {
                int cp = alphabet.codePointAt(alphabet.offsetByCodePoints(0, r.nextInt(alphabet.codePointCount(0, alphabet.length()))));
                b.appendCodePoint(cp);
            }
            String text = trial % 10 == 0 ? " ".repeat(n) : b.toString();
            long bound = LLAMA.tokenLowerBound(text);
            assertTrue(bound <= LLAMA.encode(text, false).length, "bound " + bound + " for " + text);
        }
        // the bound grows with the text: a long text is refused without encoding it
        assertTrue(LLAMA.tokenLowerBound("x".repeat(1_000_000)) >= 1_000_000 / 16);
    }

    @Test
    void tokenBytesAreWhatDecodingWrites() {
        String text = "Hello, wörld 😀 {\"a\": [1, 2]}";
        int[] ids = LLAMA.encode(text, false);
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (int id : ids) all.writeBytes(LLAMA.tokenBytes(id));
        // the bytes keep the dummy prefix's leading space, which decoding drops
        assertEquals(" " + text, all.toString(StandardCharsets.UTF_8));
        assertEquals(null, LLAMA.tokenBytes(LLAMA.bosId()));
        assertEquals(null, LLAMA.tokenBytes(LLAMA.eosId()));
        assertEquals(null, LLAMA.tokenBytes(0)); // <unk>
        assertArrayEquals(new byte[]{(byte) 0xF0}, LLAMA.tokenBytes(3 + 0xF0)); // the byte piece <0xF0>
    }

    @Test
    void streamingHoldsBackSplitCharacters() {
        int[] ids = LLAMA.encode("a😀b", false);   // the emoji is four <0xNN> byte pieces in LLaMA
        StreamingDecoder d = LLAMA.newStreamingDecoder();
        StringBuilder parts = new StringBuilder();
        int emptyReturns = 0;
        for (int id : ids) {
            String s = d.accept(id);
            if (s.isEmpty()) {
                emptyReturns++;
            }
            assertFalse(s.contains("\uFFFD"), "no replacement character for a split emoji");
            parts.append(s).append('|');
        }
        parts.append(d.finish());
        assertTrue(emptyReturns >= 3, "three of the four byte pieces wait: " + parts);
        assertTrue(parts.toString().contains("|😀|"), parts.toString());
        assertEquals("a😀b", parts.toString().replace("|", ""));
    }

    @Test
    void streamingLeadingSpaceRuleMatchesBatch() {
        for (String text : new String[] {" Hello", "  x", "Hello", "\nHi", " ", "😀 x"}) {
            int[] ids = LLAMA.encode(text, true);
            assertEquals(LLAMA.decode(ids), TokenizerGoldenTest.streamed(LLAMA, ids), text);
            assertEquals(text, LLAMA.decode(ids));
        }
        // Special ids between byte pieces are dropped before the bytes are joined, in batch and in streaming.
        int[] bytes = LLAMA.encode("😀", false);
        int[] mixed = {bytes[0], bytes[1], 2, bytes[2], 1, bytes[3], bytes[4]};
        assertEquals(LLAMA.decode(mixed), TokenizerGoldenTest.streamed(LLAMA, mixed));
    }

    @Test
    void decodeWithoutSkippingWritesSpecialTokensAsLlamaTokenizer431() {
        // Expected strings follow the source of LlamaTokenizer.convert_tokens_to_string in transformers 4.31
        // (no runnable 4.31 was available): out += " " before a special token that follows ordinary pieces, then
        // sp.decode(run) + token; each run decoded alone (its leading space dropped).
        assertEquals("<s> Hello world</s>", LLAMA.decode(new int[] {1, 15043, 3186, 2}, false));
        assertEquals("Hello world", LLAMA.decode(new int[] {1, 15043, 3186, 2}));
        assertEquals("<s></s><unk>", LLAMA.decode(new int[] {1, 2, 0}, false));
        assertEquals("", LLAMA.decode(new int[] {1, 2, 0}));
    }

    @Test
    void specialTokenTextEncodesToSpecialIds() {
        assertArrayEquals(new int[] {1, 2}, LLAMA.encode("</s>"));
        assertArrayEquals(new int[] {1}, LLAMA.encode("<s>", false));
        assertArrayEquals(new int[] {0}, LLAMA.encode("<unk>", false));
    }

    @Test
    void outOfRangeIdsAreUserErrors() {
        Owl2jException e = assertThrows(Owl2jException.class, () -> LLAMA.decode(new int[] {32000}));
        assertTrue(e.getMessage().contains("32000"));
        assertThrows(Owl2jException.class, () -> LLAMA.newStreamingDecoder().accept(-200));
        assertThrows(Owl2jException.class, () -> LLAMA.piece(-1));
    }

    @Test
    void defaultTokenizerRoundTripsVariedText(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("tokenizer.json");
        DefaultTokenizerBuilder.write(32000, file);
        Tokenizer t = Tokenizer.load(file);
        assertEquals(32000, t.vocabSize());
        assertEquals("<unk>", t.piece(0));
        assertEquals("<s>", t.piece(1));
        assertEquals("</s>", t.piece(2));
        assertEquals(1, t.bosId());
        assertEquals(2, t.eosId());
        for (int b = 0; b < 256; b++) {
            assertEquals(String.format("<0x%02X>", b), t.piece(3 + b));
        }
        Set<String> pieces = new HashSet<>();
        for (int i = 0; i < t.vocabSize(); i++) {
            assertTrue(pieces.add(t.piece(i)), "duplicate piece " + t.piece(i));
        }
        int total = 0, tokens = 0;
        for (JsonNode c : TokenizerGoldenTest.json("llama2-goldens.json").get("cases")) {
            String text = c.get("text").asText();
            if (TokenizerGoldenTest.hasSpecialText(text) || text.indexOf('\u2581') >= 0) {
                continue;
            }
            int[] ids = t.encode(text);
            assertEquals(text, t.decode(ids), TokenizerGoldenTest.quote(text));
            assertEquals(text, TokenizerGoldenTest.streamed(t, ids));
            total += text.length();
            tokens += ids.length;
        }
        // Learnt merges must do something: English text takes fewer tokens than characters.
        int[] english = t.encode("The picture shows a small dog sitting on a wooden bench in a park.", false);
        assertTrue(english.length < 20, "ids " + english.length);
        assertTrue(tokens > 0 && total > 0);
        // Not the LLaMA vocabulary.
        assertNotEquals(LLAMA.piece(15043), t.vocabSize() > 15043 ? t.piece(15043) : "");
    }

    @Test
    void defaultTokenizerIsDeterministicAndSized(@TempDir Path tmp) throws IOException {
        Path a = tmp.resolve("a.json"), b = tmp.resolve("b.json");
        DefaultTokenizerBuilder.write(1000, a);
        DefaultTokenizerBuilder.write(1000, b);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        assertEquals(1000, Tokenizer.load(a).vocabSize());
        assertThrows(Owl2jException.class, () -> DefaultTokenizerBuilder.write(300, tmp.resolve("c.json")));
    }

    @Test
    void modelDirPrefersTokenizerModel(@TempDir Path tmp) throws IOException {
        Owl2jException none = assertThrows(Owl2jException.class, () -> Tokenizer.fromModelDir(tmp));
        assertTrue(none.getMessage().contains(tmp.toString()), none.getMessage());
        DefaultTokenizerBuilder.write(1000, tmp.resolve("tokenizer.json"));
        assertEquals(1000, Tokenizer.fromModelDir(tmp).vocabSize());
        Files.copy(TokenizerGoldenTest.dir().resolve("small-bpe.model"), tmp.resolve("tokenizer.model"));
        assertEquals(1200, Tokenizer.fromModelDir(tmp).vocabSize());
    }

    @Test
    void corruptFilesGiveOneLineErrorsNamingTheFile(@TempDir Path tmp) throws IOException {
        byte[] model = Files.readAllBytes(TokenizerGoldenTest.dir().resolve("small-bpe.model"));
        Path truncated = tmp.resolve("truncated.model");
        Files.write(truncated, Arrays.copyOf(model, model.length / 2));
        Path garbage = tmp.resolve("garbage.model");
        byte[] g = new byte[4096];
        new java.util.Random(7).nextBytes(g);
        Files.write(garbage, g);
        Path empty = tmp.resolve("empty.model");
        Files.write(empty, new byte[0]);
        Path badJson = tmp.resolve("tokenizer.json");
        Files.writeString(badJson, "{\"model\": {\"type\": \"BPE\", \"vocab\": [1, 2", StandardCharsets.UTF_8);
        Path noModel = tmp.resolve("nomodel.json");
        Files.writeString(noModel, "{\"version\": \"1.0\"}");
        Path gap = tmp.resolve("gap.json");
        Files.writeString(gap, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 2}, \"merges\": []}}");
        for (Path p : new Path[] {truncated, garbage, empty, badJson, noModel, gap, tmp.resolve("missing.model")}) {
            Owl2jException e = assertThrows(Owl2jException.class, () -> Tokenizer.load(p), p.toString());
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }
}
