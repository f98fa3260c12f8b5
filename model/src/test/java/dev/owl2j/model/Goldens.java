package dev.owl2j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.format.SafetensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The tiny-owl2-f16 fixture's goldens, computed by the independent float64 reference: the golden tensors
 * ({@code golden/golden.safetensors}: pixel values, per-component outputs, logits, greedy tokens) and the manifest
 * ({@code golden/manifest.json}: the prompts with their ids and images). Opened once per JVM and shared by every
 * module's tests through the model test-jar.
 */
public final class Goldens {
    public static final SafetensorsFile TENSORS = SafetensorsFile.open(TestData.golden());
    public static final JsonNode MANIFEST = readManifest();

    private Goldens() {}

    public static float[] floats(String name) {
        return TENSORS.get(name).toFloatArray();
    }

    public static int[] ints(String name) {
        long[] l = TENSORS.get(name).toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = Math.toIntExact(l[i]);
        }
        return out;
    }

    /** The manifest entry of a prompt ("prompt0" ...). */
    public static JsonNode prompt(String name) {
        for (JsonNode p : MANIFEST.get("prompts")) {
            if (p.get("name").asText().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("no prompt " + name + " in the fixture's manifest");
    }

    /** A prompt's token ids, with -200 where an image goes. */
    public static int[] promptIds(String name) {
        JsonNode ids = prompt(name).get("ids");
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.get(i).asInt();
        }
        return out;
    }

    /** The images of a prompt in placeholder order ("image1", "image0" for prompt2). */
    public static List<String> promptImages(String name) {
        List<String> out = new ArrayList<>();
        prompt(name).get("images").forEach(n -> out.add(n.asText()));
        return out;
    }

    /** The reference's greedy continuation of a prompt. */
    public static int[] greedyTokens(String prompt) {
        return ints(prompt + ".greedy_tokens");
    }

    private static JsonNode readManifest() {
        try {
            return new ObjectMapper().readTree(TestData.tinyFixture().resolve("golden/manifest.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
