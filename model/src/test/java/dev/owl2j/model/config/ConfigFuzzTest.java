package dev.owl2j.model.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.owl2j.model.fuzz.FuzzTargets;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

/** The three config readers on any text (seeds: the fixture's config.json, preprocessor and generation configs). */
class ConfigFuzzTest {
    @MethodSource("seeds")
    @FuzzTest(maxDuration = "15s")
    void parse(byte[] bytes) {
        String json = new String(bytes, StandardCharsets.UTF_8);
        FuzzTargets.userErrorsOnly(() -> Owl2Config.parse(json));
        FuzzTargets.userErrorsOnly(() -> PreprocessorConfig.parse(json));
        FuzzTargets.userErrorsOnly(() -> GenerationConfig.parse(json));
    }

    static Stream<byte[]> seeds() {
        return FuzzTargets.testdataFiles("tiny-owl2-f16/config.json", "tiny-owl2-f16/preprocessor_config.json",
                "tiny-owl2-f16/generation_config.json", "checkpoint-tensors/config.json");
    }
}
