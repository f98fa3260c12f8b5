package dev.owl2j.model.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.TestData;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/** The tiny-owl2-f16 fixture of the repo: checkpoint, config, golden tensors and manifest, opened once per JVM. */
final class Fixture {
    static final SafetensorsFile WEIGHTS = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"));
    static final Owl2Config CONFIG = Owl2Config.read(TestData.tinyFixture().resolve("config.json"));
    static final SafetensorsFile GOLDEN = SafetensorsFile.open(TestData.golden());
    static final JsonNode MANIFEST = readManifest();

    private static Owl2Model model;

    private Fixture() {}

    /** The fixture model with the scalar reference kernels, shared by the test classes. */
    static synchronized Owl2Model model() {
        if (model == null) {
            model = Owl2Model.load(WEIGHTS, CONFIG, dev.owl2j.model.cpu.kernel.Linears.factory(null));
        }
        return model;
    }

    static float[] golden(String name) {
        return GOLDEN.get(name).toFloatArray();
    }

    static int[] goldenInts(String name) {
        long[] l = GOLDEN.get(name).toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = Math.toIntExact(l[i]);
        }
        return out;
    }

    /** The manifest entry of a prompt ("prompt0" ...). */
    static JsonNode prompt(String name) {
        for (JsonNode p : MANIFEST.get("prompts")) {
            if (p.get("name").asText().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException(name);
    }

    static int[] promptIds(String name) {
        JsonNode ids = prompt(name).get("ids");
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i).asInt();
        }
        return out;
    }

    /** The images of a prompt in placeholder order ("image1", "image0" for prompt2). */
    static List<String> promptImages(String name) {
        List<String> out = new ArrayList<>();
        prompt(name).get("images").forEach(n -> out.add(n.asText()));
        return out;
    }

    private static JsonNode readManifest() {
        try {
            return new ObjectMapper().readTree(TestData.tinyFixture().resolve("golden/manifest.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
