package dev.owl2j.runtime.model;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;
import dev.owl2j.model.tokenizer.DefaultTokenizerBuilder;
import dev.owl2j.model.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tokenizer read while the weights load (LoadedModel.open): the same tokenizer as a plain read, and a bad or
 * missing tokenizer file is the same one-line error, given where the tokenizer is asked for (the weights still load).
 */
class LoadedModelTest {
    private static Path modelDir(Path dir) throws Exception {
        for (String f : new String[]{"config.json", "generation_config.json", "preprocessor_config.json", "model.safetensors"}) {
            Files.copy(TestData.tinyFixture().resolve(f), dir.resolve(f));
        }
        return dir;
    }

    private static LoadedModel open(Path dir) {
        ModelOptions options = new ModelOptions();
        options.model = dir.toString();
        options.backend = "cpu";
        return LoadedModel.open(options, null);
    }

    @Test
    void theTokenizerReadAlongsideIsTheOneAPlainReadGives(@TempDir Path tmp) throws Exception {
        Path dir = modelDir(tmp);
        DefaultTokenizerBuilder.write(32000, dir.resolve("tokenizer.json"));
        Tokenizer plain = Tokenizer.fromModelDir(dir);
        try (LoadedModel model = open(dir)) {
            assertTrue(model.hasTokenizer());
            Tokenizer read = model.tokenizer();
            assertEquals(plain.vocabSize(), read.vocabSize());
            String text = "A picture of two cats, 3 dogs and ünïcödé.";
            assertArrayEquals(plain.encode(text), read.encode(text));
            for (int id = 0; id < plain.vocabSize(); id += 997) {
                assertEquals(plain.piece(id), read.piece(id));
            }
            assertTrue(read == model.tokenizer(), "read once");
        }
    }

    @Test
    void aBadTokenizerIsTheSameOneLineErrorWhereTheTokenizerIsAskedFor(@TempDir Path tmp) throws Exception {
        Path dir = modelDir(tmp);
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": [1, 2");
        String direct = assertThrows(Owl2jException.class, () -> Tokenizer.fromModelDir(dir)).getMessage();
        try (LoadedModel model = open(dir)) {
            assertTrue(model.hasTokenizer());
            Owl2jException e = assertThrows(Owl2jException.class, model::tokenizer);
            assertEquals(direct, e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void noTokenizerFileIsTheHintedError(@TempDir Path tmp) throws Exception {
        Path dir = modelDir(tmp);
        try (LoadedModel model = open(dir)) {
            assertFalse(model.hasTokenizer());
            Owl2jException e = assertThrows(Owl2jException.class, () -> model.tokenizer("give ids instead"));
            assertTrue(e.getMessage().endsWith("has no tokenizer.model or tokenizer.json: give ids instead"), e.getMessage());
        }
    }
}
