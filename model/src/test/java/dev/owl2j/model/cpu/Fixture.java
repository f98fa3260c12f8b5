package dev.owl2j.model.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.Goldens;
import dev.owl2j.model.TestData;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.SafetensorsFile;

import java.util.List;

/** The tiny-owl2-f16 fixture of the repo: checkpoint, config, golden tensors and manifest, opened once per JVM. */
final class Fixture {
    static final SafetensorsFile WEIGHTS = SafetensorsFile.open(TestData.tinyFixture().resolve("model.safetensors"));
    static final Owl2Config CONFIG = Owl2Config.read(TestData.tinyFixture().resolve("config.json"));

    private static Owl2Model model;
    private static Owl2Model smallModel;

    private Fixture() {}

    /**
     * The fixture model with the Vector API kernels for every matrix, shared by the test classes. (The fixture's
     * matrices are as small as the embedded default model's, so the ordinary factory would give them the plain-Java
     * SmallLinear; the golden tests are where the vector kernels are checked end to end.)
     */
    static synchronized Owl2Model model() {
        if (model == null) {
            model = Owl2Model.load(WEIGHTS, CONFIG, dev.owl2j.model.cpu.kernel.Linears.vectorFactory(null));
        }
        return model;
    }

    /** The fixture model as the ordinary factory loads it: every matrix here in the plain-Java SmallLinear. */
    static synchronized Owl2Model smallModel() {
        if (smallModel == null) {
            smallModel = Owl2Model.load(WEIGHTS, CONFIG, dev.owl2j.model.cpu.kernel.Linears.factory(null, true, Integer.MAX_VALUE));
        }
        return smallModel;
    }

    static float[] golden(String name) {
        return Goldens.floats(name);
    }

    static int[] goldenInts(String name) {
        return Goldens.ints(name);
    }

    /** The manifest entry of a prompt ("prompt0" ...). */
    static JsonNode prompt(String name) {
        return Goldens.prompt(name);
    }

    static int[] promptIds(String name) {
        return Goldens.promptIds(name);
    }

    /** The images of a prompt in placeholder order ("image1", "image0" for prompt2). */
    static List<String> promptImages(String name) {
        return Goldens.promptImages(name);
    }
}
