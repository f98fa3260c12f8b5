package dev.owl2j.runtime.server;

import dev.owl2j.model.Goldens;
import dev.owl2j.model.TestData;
import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.SimpleLinear;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.runtime.engine.CpuEngine;
import dev.owl2j.runtime.generation.TextStream;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The repository's tiny-owl2-f16 fixture as a CPU engine, its golden pixels and prompts; opened once per JVM. */
final class TinyFixture {
    static final Path DIR = testdata().resolve("tiny-owl2-f16");
    private static CpuEngine engine;

    private TinyFixture() {}

    static Path testdata() {
        return TestData.root();
    }

    static synchronized CpuEngine engine() {
        if (engine == null) {
            SafetensorsFile weights = SafetensorsFile.open(DIR.resolve("model.safetensors"));
            engine = new CpuEngine(weights, Owl2Config.read(DIR.resolve("config.json")), SimpleLinear::new, "F16");
        }
        return engine;
    }

    static float[] pixels(String image) {
        return Goldens.floats(image + ".pixel_values");
    }

    static JsonNode prompt(String name) {
        return Goldens.prompt(name);
    }

    static int[] ids(String prompt) {
        return Goldens.promptIds(prompt);
    }

    static List<float[]> images(String prompt) {
        List<float[]> out = new ArrayList<>();
        for (String image : Goldens.promptImages(prompt)) out.add(pixels(image));
        return out;
    }

    static int[] goldenGreedy(String prompt) {
        return Goldens.greedyTokens(prompt);
    }

    /** Text "[id]" per token: lets scheduler tests check text and stop strings without a tokenizer. */
    static TextStream idText() {
        return new TextStream() {
            @Override
            public String push(int id) {
                return "[" + id + "]";
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }
}
