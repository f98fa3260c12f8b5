package dev.owl2j.model.image;

import dev.owl2j.model.Owl2jException;

import java.util.Locale;

/** How a non-square image is made square before the CLIP resize (docs/model.md, Image preprocessing). */
public enum AspectMode {
    /** Expand to a square canvas filled with int(255 * CLIP mean), image pasted centred (the CLI default). */
    PAD,
    /** Stretch to max(W, H) squared with Pillow BICUBIC (README quick-start and the evaluation scripts). */
    RESIZE,
    /** No aspect step: the CLIP processor resizes the shortest edge and centre-crops (content is cut). */
    CROP;

    /** Parses "pad", "resize" or "crop" (case-insensitive). */
    public static AspectMode parse(String s) {
        if (s != null) {
            switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "pad": return PAD;
                case "resize": return RESIZE;
                case "crop": return CROP;
                default: break;
            }
        }
        throw new Owl2jException("unknown image aspect mode '" + s + "' (expected pad, resize or crop)");
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
