package dev.owl2j.model.tokenizer;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.owl2j.model.TestData;
import dev.owl2j.model.fuzz.FuzzTargets;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

/**
 * Any text through the tokenizer (a small SentencePiece BPE with byte fallback, the LLaMA-2 kind): encode, decode,
 * stream-decode, and the prompt tokenizer's {@code <|image|>} splitting. The bytes are read as UTF-8, so malformed
 * sequences, lone surrogates' replacements and control characters all occur.
 */
class TokenizerTextFuzzTest {
    private static final Tokenizer TOKENIZER = Tokenizer.load(TestData.root().resolve("tokenizer/small-bpe.model"));

    @MethodSource("seeds")
    @FuzzTest(maxDuration = "15s")
    void encodeDecode(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        FuzzTargets.userErrorsOnly(() -> {
            int[] ids = TOKENIZER.encode(text, true);
            TOKENIZER.decode(ids);
            TOKENIZER.decode(ids, false);
            StreamingDecoder s = TOKENIZER.newStreamingDecoder();
            for (int id : ids) s.accept(id);
            s.finish();
            PromptTokenizer p = new PromptTokenizer(TOKENIZER);
            p.encode(text);
            p.encodeContinuation(text);
            PromptTokenizer.countImages(text);
        });
    }

    static Stream<byte[]> seeds() {
        return Stream.of("Describe the image.", "What is unusual about <|image|>this picture?", " \n\t héllo 世界 🦉 <s></s>",
                        "<|image|><|image|>", "\u0000\u0001\u007f", "a".repeat(300))
                .map(s -> s.getBytes(StandardCharsets.UTF_8));
    }
}
