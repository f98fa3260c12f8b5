package dev.owl2j.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The image split and the chat template (docs/model.md, Tokenizer and prompts) on the real LLaMA vocabulary. Expected ids are assembled from the
 * golden ids of the chunks (llama-tokenizer-js / @lenml/tokenizers) by the reference's rule, never typed by hand,
 * except the template prefix ids that docs/model.md states.
 */
class PromptTokenizerTest {
    static final Tokenizer LLAMA = TokenizerGoldenTest.llama();
    static final PromptTokenizer PT = new PromptTokenizer(LLAMA);

    static Map<String, int[]> goldens() throws IOException {
        Map<String, int[]> m = new HashMap<>();
        for (JsonNode c : TokenizerGoldenTest.json("llama2-goldens.json").get("cases")) {
            m.put(c.get("text").asText(), TokenizerGoldenTest.ints(c.get("ids")));
        }
        return m;
    }

    static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
    }

    @Test
    void singleTurnPromptWithImage() throws IOException {
        Map<String, int[]> g = goldens();
        String prompt = ChatTemplate.singleTurn(PromptTokenizer.IMAGE_MARKER + "Describe the image.");
        assertEquals("USER: <|image|>Describe the image. ASSISTANT:", prompt);
        int[] want = concat(new int[] {1}, g.get("USER: "), new int[] {-200}, g.get("Describe the image. ASSISTANT:"));
        assertArrayEquals(want, PT.encode(prompt));
        // docs/model.md's example: "USER: " ends in the standalone "▁" (29871) before the sentinel; " ASSISTANT:" tail.
        int[] ids = PT.encode(prompt);
        assertArrayEquals(new int[] {1, 3148, 1001, 29901, 29871, -200}, java.util.Arrays.copyOf(ids, 6));
        assertArrayEquals(new int[] {319, 1799, 9047, 13566, 29901}, java.util.Arrays.copyOfRange(ids, ids.length - 5, ids.length));
        assertEquals(1, PromptTokenizer.countImages(prompt));
    }

    @Test
    void textOnlyPromptIsPlainEncodeWithBos() throws IOException {
        String prompt = ChatTemplate.singleTurn("What color is it?");
        assertEquals("USER: What color is it? ASSISTANT:", prompt);
        assertArrayEquals(concat(new int[] {1}, goldens().get(prompt)), PT.encode(prompt));
        assertEquals(0, PromptTokenizer.countImages(prompt));
    }

    @Test
    void promptStartingWithMarkerKeepsTheNextChunksBos() throws IOException {
        // First chunk empty -> no leading BOS, and the BOS of the chunk after the image stays (reference quirk).
        int[] want = concat(new int[] {-200, 1}, goldens().get("Describe the image."));
        assertArrayEquals(want, PT.encode("<|image|>Describe the image."));
    }

    @Test
    void adjacentAndTrailingMarkers() throws IOException {
        Map<String, int[]> g = goldens();
        // Empty middle chunk contributes nothing: two sentinels in a row; empty last chunk: sentinel at the end.
        assertArrayEquals(concat(new int[] {1}, g.get("USER: "), new int[] {-200, -200}, g.get("Describe the image.")),
                PT.encode("USER: <|image|><|image|>Describe the image."));
        assertArrayEquals(concat(new int[] {1}, g.get("USER: "), new int[] {-200}), PT.encode("USER: <|image|>"));
        assertArrayEquals(new int[0], PT.encode(""));
        assertArrayEquals(new int[] {-200}, PT.encode("<|image|>"));
        assertEquals(2, PromptTokenizer.countImages("a<|image|>b<|image|>"));
        assertEquals(0, PromptTokenizer.countImages("<|image"));
    }

    @Test
    void multiTurnRenderMatchesReferenceAndKvContinuation() throws IOException {
        Map<String, int[]> g = goldens();
        List<ChatTemplate.Turn> turns = List.of(
                new ChatTemplate.Turn("user", "<|image|>What is the man holding?"),
                new ChatTemplate.Turn("assistant", "He is holding an umbrella."),
                new ChatTemplate.Turn("user", "What color is it?"));
        String rendered = ChatTemplate.render(turns);
        assertEquals("USER: <|image|>What is the man holding? ASSISTANT: He is holding an umbrella.</s>"
                + "USER: What color is it? ASSISTANT:", rendered);
        // Reference: the "</s>" text inside the chunk is id 2 and the text after it gets its own dummy prefix.
        int[] reference = concat(new int[] {1}, g.get("USER: "), new int[] {-200},
                g.get("What is the man holding? ASSISTANT: He is holding an umbrella.</s>USER: What color is it? ASSISTANT:"));
        assertArrayEquals(reference, PT.encode(rendered));
        // KV-cache path: first prompt, generated answer ids, the EOS (= sep2), then the continuation.
        int[] first = PT.encode(ChatTemplate.render(turns.subList(0, 1)));
        int[] answer = g.get("He is holding an umbrella.");
        int[] next = PT.encodeContinuation(ChatTemplate.nextTurn("What color is it?"));
        assertArrayEquals(g.get("USER: What color is it? ASSISTANT:"), next);
        assertArrayEquals(reference, concat(first, answer, new int[] {LLAMA.eosId()}, next));
    }

    @Test
    void continuationWithImageHasNoBos() throws IOException {
        Map<String, int[]> g = goldens();
        assertArrayEquals(concat(g.get("USER: "), new int[] {-200}, g.get("Describe the image. ASSISTANT:")),
                PT.encodeContinuation("USER: <|image|>Describe the image. ASSISTANT:"));
    }

    @Test
    void templateShapes() {
        assertEquals("USER: hi ASSISTANT:", ChatTemplate.singleTurn("hi"));
        assertEquals("USER: q ASSISTANT:", ChatTemplate.nextTurn("q"));
        assertEquals("USER: a ASSISTANT: b</s>USER: c ASSISTANT:", ChatTemplate.render(List.of(
                new ChatTemplate.Turn("user", "a"), new ChatTemplate.Turn("assistant", "b"),
                new ChatTemplate.Turn("user", "c"))));
        assertEquals("USER: a ASSISTANT:", ChatTemplate.render(List.of(
                new ChatTemplate.Turn("user", "a"), new ChatTemplate.Turn("assistant", ""))));
        assertThrows(Owl2jException.class, () -> ChatTemplate.render(List.of(new ChatTemplate.Turn("assistant", "x"))));
        assertThrows(Owl2jException.class, () -> ChatTemplate.render(List.of(
                new ChatTemplate.Turn("user", "a"), new ChatTemplate.Turn("assistant", "b"))));
        assertThrows(Owl2jException.class, () -> ChatTemplate.render(List.of()));
    }
}
