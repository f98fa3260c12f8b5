package dev.owl2j.runtime.server;

import dev.owl2j.model.TestData;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.SimpleLinear;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.runtime.engine.CpuEngine;
import dev.owl2j.runtime.generation.TextStream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The repository's tiny-owl2-f16 fixture as a CPU engine, its golden pixels and prompts; opened once per JVM. */
final class TinyFixture {
    static final Path DIR = testdata().resolve("tiny-owl2-f16");
    static final SafetensorsFile GOLDEN = SafetensorsFile.open(DIR.resolve("golden/golden.safetensors"));
    static final JsonNode MANIFEST = read(DIR.resolve("golden/manifest.json"));
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
        return GOLDEN.get(image + ".pixel_values").toFloatArray();
    }

    static JsonNode prompt(String name) {
        for (JsonNode p : MANIFEST.get("prompts")) {
            if (p.get("name").asText().equals(name)) return p;
        }
        throw new IllegalArgumentException(name);
    }

    static int[] ids(String prompt) {
        JsonNode ids = prompt(prompt).get("ids");
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) out[i] = ids.get(i).asInt();
        return out;
    }

    static List<float[]> images(String prompt) {
        List<float[]> out = new ArrayList<>();
        prompt(prompt).get("images").forEach(n -> out.add(pixels(n.asText())));
        return out;
    }

    static int[] goldenGreedy(String prompt) {
        long[] l = GOLDEN.get(prompt + ".greedy_tokens").toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) out[i] = Math.toIntExact(l[i]);
        return out;
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

    private static JsonNode read(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
