package dev.owl2j.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.Owl2jException;

import java.nio.file.Path;

/**
 * {@code preprocessor_config.json} (CLIPImageProcessor, docs/images.md). {@code size} may be an int (shortest edge)
 * or an object with {@code shortest_edge}; {@code crop_size} an int or {@code {height, width}}. Absent keys take the
 * release's values; present ones are validated (sizes from 1 to {@link #MAX_SIZE}, finite means, standard
 * deviations and rescale factor above zero), so a config cannot turn every pixel into NaN or ask for an absurd
 * canvas (docs/security.md, Configs).
 */
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

    /** Largest resize or crop side (the release uses 448). */
    public static final int MAX_SIZE = 4096;

    /** The release's values (docs/images.md). */
    public static PreprocessorConfig clip448() {
        return new PreprocessorConfig(448, 448, 448, 3, true, true, true, 1.0 / 255, true,
                new float[]{0.48145466f, 0.4578275f, 0.40821073f}, new float[]{0.26862954f, 0.26130258f, 0.27577711f});
    }

    public static PreprocessorConfig read(Path file) {
        return from(JsonConfig.readFile(file));
    }

    public static PreprocessorConfig parse(String json) {
        return from(JsonConfig.parse(json, "preprocessor_config.json"));
    }

    private static PreprocessorConfig from(JsonConfig j) {
        PreprocessorConfig d = clip448();
        int shortest = d.shortestEdge;
        if (j.has("size")) {
            JsonNode size = j.raw("size");
            shortest = size.isObject() ? j.object("size").integer("shortest_edge", d.shortestEdge, 1, MAX_SIZE)
                    : j.integer("size", d.shortestEdge, 1, MAX_SIZE);
            if (size.isObject() && !size.has("shortest_edge")) {
                throw j.bad("size", "must be an integer or an object with shortest_edge", size);
            }
        }
        int ch = d.cropHeight, cw = d.cropWidth;
        if (j.has("crop_size")) {
            if (j.raw("crop_size").isObject()) {
                JsonConfig crop = j.object("crop_size");
                ch = crop.integer("height", d.cropHeight, 1, MAX_SIZE);
                cw = crop.integer("width", ch, 1, MAX_SIZE);
            } else {
                ch = cw = j.integer("crop_size", d.cropHeight, 1, MAX_SIZE);
            }
        }
        int resample = j.integer("resample", 3, 0, 5);
        if (resample != 3) {
            throw j.fail("only resample=3 (bicubic) is supported, found " + resample);
        }
        float[] mean = floats(j, "image_mean", d.imageMean, false);
        float[] std = floats(j, "image_std", d.imageStd, true);
        return new PreprocessorConfig(shortest, ch, cw, resample,
                j.bool("do_resize", true), j.bool("do_center_crop", true),
                j.bool("do_rescale", true), j.number("rescale_factor", 1.0 / 255, 0, 1),
                j.bool("do_normalize", true), mean, std);
    }

    /** Three finite numbers (above zero and at least 1e-6 for standard deviations, which divide). */
    private static float[] floats(JsonConfig j, String key, float[] dflt, boolean divisor) {
        if (!j.has(key)) return dflt;
        JsonNode n = j.raw(key);
        String rule = divisor ? "must be a list of 3 numbers from 1e-6 to 1e6" : "must be a list of 3 finite numbers";
        if (!n.isArray() || n.size() != 3) throw j.bad(key, rule, n);
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) {
            JsonNode v = n.get(i);
            float f = v.isNumber() ? (float) v.doubleValue() : Float.NaN;
            boolean ok = Float.isFinite(f) && (divisor ? f >= 1e-6f && f <= 1e6f : Math.abs(f) <= 1e6f);
            if (!ok) throw j.bad(key, rule, v);
            out[i] = f;
        }
        return out;
    }

    /** Refuses a crop that the vision tower cannot take (it needs square inputs of its image_size). */
    public void checkFits(Owl2Config.VisionConfig vision, String where) {
        if (cropHeight != vision.imageSize() || cropWidth != vision.imageSize()) {
            throw new Owl2jException(where + ": crop_size " + cropHeight + "x" + cropWidth + " differs from the vision tower's image_size "
                    + vision.imageSize());
        }
    }
}
