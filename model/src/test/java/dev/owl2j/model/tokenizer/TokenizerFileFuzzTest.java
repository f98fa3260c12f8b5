package dev.owl2j.model.tokenizer;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.owl2j.model.fuzz.FuzzTargets;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Tokenizer files on any bytes: a SentencePiece {@code tokenizer.model} (protobuf) or a {@code tokenizer.json}
 * (chosen by the content, as {@link Tokenizer#load} does), then one short encode with whatever loaded.
 */
class TokenizerFileFuzzTest {
    private static final Path FILE = FuzzTargets.scratch("tokenizer.model");

    @MethodSource("seeds")
    @FuzzTest(maxDuration = "15s")
    void load(byte[] file) throws IOException {
        Files.write(FILE, file);
        FuzzTargets.userErrorsOnly(() -> {
            Tokenizer t = Tokenizer.load(FILE);
            t.decode(t.encode("Hello <|image|> wörld\n", true));
        });
    }

    static Stream<byte[]> seeds() {
        String json = """
                {"model": {"type": "BPE", "byte_fallback": true, "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁": 4, "a": 5, "▁a": 6},
                 "merges": ["▁ a"]},
                 "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
                                  {"id": 2, "content": "</s>", "special": true}]}
                """;
        return Stream.concat(FuzzTargets.testdataFiles("tokenizer/small-bpe-nofallback.model", "tokenizer/small-bpe.model"),
                Stream.of(json.getBytes(StandardCharsets.UTF_8)));
    }
}
