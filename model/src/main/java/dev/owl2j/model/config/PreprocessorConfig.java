package dev.owl2j.model.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code preprocessor_config.json} (CLIPImageProcessor; docs/model.md, Image preprocessing). {@code size} may be an int (shortest edge)
 * or a dict with {@code shortest_edge}; {@code crop_size} an int or {@code {height,width}}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record PreprocessorConfig(
        int shortestEdge,
        int cropHeight,
        int cropWidth,
        int resample,
        boolean doResize,
        boolean doCenterCrop,
        boolean doRescale,
        double rescaleFactor,
        boolean doNormalize,
        float[] imageMean,
        float[] imageStd) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The release's values (docs/model.md, Image preprocessing). */
    public static PreprocessorConfig clip448() {
        return new PreprocessorConfig(448, 448, 448, 3, true, true, true, 1.0 / 255, true,
                new float[]{0.48145466f, 0.4578275f, 0.40821073f}, new float[]{0.26862954f, 0.26130258f, 0.27577711f});
    }

    public static PreprocessorConfig read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new Owl2jException("preprocessor_config.json not found: " + file);
        }
        try {
            return fromJson(JSON.readTree(file.toFile()), file.toString());
        } catch (IOException e) {
            throw new Owl2jException(file + ": cannot parse preprocessor_config.json");
        }
    }

    static PreprocessorConfig fromJson(JsonNode n, String where) {
        PreprocessorConfig d = clip448();
        int shortest = d.shortestEdge;
        JsonNode size = n.get("size");
        if (size != null && size.isInt()) shortest = size.asInt();
        else if (size != null && size.has("shortest_edge")) shortest = size.get("shortest_edge").asInt();
        int ch = d.cropHeight, cw = d.cropWidth;
        JsonNode crop = n.get("crop_size");
        if (crop != null && crop.isInt()) ch = cw = crop.asInt();
        else if (crop != null && crop.has("height")) {
            ch = crop.get("height").asInt();
            cw = crop.path("width").asInt(ch);
        }
        float[] mean = floats(n.get("image_mean"), d.imageMean, where, "image_mean");
        float[] std = floats(n.get("image_std"), d.imageStd, where, "image_std");
        PreprocessorConfig c = new PreprocessorConfig(shortest, ch, cw, n.path("resample").asInt(3),
                n.path("do_resize").asBoolean(true), n.path("do_center_crop").asBoolean(true),
                n.path("do_rescale").asBoolean(true), n.path("rescale_factor").asDouble(1.0 / 255),
                n.path("do_normalize").asBoolean(true), mean, std);
        if (c.resample != 3) {
            throw new Owl2jException(where + ": only resample=3 (bicubic) is supported, found " + c.resample);
        }
        if (shortest <= 0 || ch <= 0 || cw <= 0) {
            throw new Owl2jException(where + ": size and crop_size must be positive");
        }
        return c;
    }

    private static float[] floats(JsonNode n, float[] dflt, String where, String key) {
        if (n == null || n.isNull()) return dflt;
        if (!n.isArray() || n.size() != 3) {
            throw new Owl2jException(where + ": " + key + " must be a list of 3 numbers");
        }
        return new float[]{(float) n.get(0).asDouble(), (float) n.get(1).asDouble(), (float) n.get(2).asDouble()};
    }
}
