package dev.owl2j.model.image;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.PreprocessorConfig;

import java.nio.file.Path;

/**
 * Image to vision-tower input, as mPLUG-Owl2's {@code process_images} + transformers 4.31's
 * {@code CLIPImageProcessor} do it (docs/model.md, Image preprocessing): aspect step, shortest-edge Pillow BICUBIC resize,
 * centre crop, then {@code float32(u8 * rescale_factor)} (the product is taken in double, as numpy does for
 * a uint8 array times a Python float) and {@code (x - mean) / std} in float32, channels first, RGB.
 */
public final class ImagePreprocessor {
    private final PreprocessorConfig cfg;
    private final ImageDecoder decoder;
    private final int[] background;

    public ImagePreprocessor(PreprocessorConfig cfg) {
        this(cfg, new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS));
    }

    public ImagePreprocessor(PreprocessorConfig cfg, ImageDecoder decoder) {
        this.cfg = cfg;
        this.decoder = decoder;
        this.background = new int[3];
        for (int c = 0; c < 3; c++) {
            // expand2square's tuple(int(x * 255) for x in image_processor.image_mean); Python floats are doubles.
            background[c] = (int) ((double) cfg.imageMean()[c] * 255);
        }
    }

    /** Side of the square the vision tower receives (448 for the release). */
    public int imageSize() {
        return cfg.doCenterCrop() ? cfg.cropHeight() : cfg.shortestEdge();
    }

    /** The colour {@link AspectMode#PAD} fills with. */
    public int[] padColour() {
        return background.clone();
    }

    public float[] pixelValues(Path file, AspectMode mode) {
        RgbImage image = decoder.decode(file);
        checkSizes(image, mode, file.toString());
        return pixelValues(image, mode);
    }

    public float[] pixelValues(byte[] data, String sourceName, AspectMode mode) {
        RgbImage image = decoder.decode(data, sourceName);
        checkSizes(image, mode, sourceName == null ? "<image>" : sourceName);
        return pixelValues(image, mode);
    }

    /**
     * Refuses an image whose intermediate images would exceed the decoder's pixel limit: the square canvas of
     * {@code pad} and {@code resize} (side max(W, H)) and the shortest-edge resize (a 100000000x1 image would
     * become 44,800,000,000 pixels wide). Checked before anything is allocated (docs/security.md, Images).
     */
    public void checkSizes(RgbImage image, AspectMode mode, String name) {
        long w = image.width(), h = image.height(), limit = decoder.maxPixels();
        long side = mode == AspectMode.CROP ? -1 : Math.max(w, h);
        if (side > 0 && w != h && side * side > limit) {
            throw new Owl2jException(name + ": a " + w + "x" + h + " image needs a " + side + "x" + side + " square for --aspect "
                    + mode.name().toLowerCase(java.util.Locale.ROOT) + ", over the limit of " + limit
                    + " pixels (try --aspect crop)");
        }
        if (cfg.doResize()) {
            long shortSide = side > 0 ? side : Math.min(w, h), longSide = side > 0 ? side : Math.max(w, h);
            double newLong = (double) cfg.shortestEdge() * longSide / shortSide;
            if (newLong * cfg.shortestEdge() > limit) {
                throw new Owl2jException(name + ": a " + w + "x" + h + " image resized to a shortest edge of " + cfg.shortestEdge()
                        + " would be " + (long) newLong + " pixels long, over the limit of " + limit + " pixels");
            }
        }
    }

    /** CHW float32 [3 * S * S] with S = {@link #imageSize()}. */
    public float[] pixelValues(RgbImage image, AspectMode mode) {
        return normalize(prepare(image, mode));
    }

    /** The uint8 image after the aspect step, the resize and the centre crop (before rescaling). */
    public RgbImage prepare(RgbImage image, AspectMode mode) {
        checkSizes(image, mode, "image");
        RgbImage squared = switch (mode) {
            case PAD -> expandToSquare(image, background);
            case RESIZE -> {
                int edge = Math.max(image.width(), image.height());
                yield PillowBicubic.resize(image, edge, edge);
            }
            case CROP -> image;
        };
        RgbImage resized = cfg.doResize() ? resizeShortestEdge(squared, cfg.shortestEdge()) : squared;
        RgbImage cropped = cfg.doCenterCrop() ? centerCrop(resized, cfg.cropWidth(), cfg.cropHeight()) : resized;
        int s = imageSize();
        if (cropped.width() != s || cropped.height() != s) {
            throw new Owl2jException("preprocessing gives a " + cropped.width() + "x" + cropped.height()
                    + " image but the vision tower needs " + s + "x" + s + " (check preprocessor_config.json)");
        }
        return cropped;
    }

    /** The rescale and normalize steps on a prepared image: CHW float32. */
    public float[] normalize(RgbImage image) {
        int w = image.width(), h = image.height();
        int plane = w * h;
        float[] out = new float[3 * plane];
        byte[] px = image.rgb();
        double scale = cfg.rescaleFactor();
        for (int c = 0; c < 3; c++) {
            float mean = cfg.imageMean()[c];
            float std = cfg.imageStd()[c];
            for (int i = 0; i < plane; i++) {
                int u8 = px[i * 3 + c] & 0xff;
                float v = cfg.doRescale() ? (float) (u8 * scale) : u8;
                if (cfg.doNormalize()) {
                    v = (v - mean) / std;
                }
                out[c * plane + i] = v;
            }
        }
        return out;
    }

    /** mPLUG-Owl2's expand2square: a square of side max(W, H) filled with colour, image pasted at (long-short)//2. */
    public static RgbImage expandToSquare(RgbImage image, int[] colour) {
        int w = image.width(), h = image.height();
        if (w == h) return image;
        int side = Math.max(w, h);
        RgbImage canvas = RgbImage.filled(side, side, colour[0], colour[1], colour[2]);
        int x0 = w > h ? 0 : (h - w) / 2;
        int y0 = w > h ? (w - h) / 2 : 0;
        for (int y = 0; y < h; y++) {
            System.arraycopy(image.rgb(), y * w * 3, canvas.rgb(), ((y0 + y) * side + x0) * 3, w * 3);
        }
        return canvas;
    }

    /** transformers' get_resize_output_image_size(default_to_square=False) followed by the Pillow resize. */
    public static RgbImage resizeShortestEdge(RgbImage image, int shortest) {
        int w = image.width(), h = image.height();
        int shortSide = Math.min(w, h), longSide = Math.max(w, h);
        // int(size * long / short): Python true division of exact integers, correctly rounded like Java's double division.
        int newLong = (int) ((double) ((long) shortest * longSide) / shortSide);
        int newW = w <= h ? shortest : newLong;
        int newH = w <= h ? newLong : shortest;
        return PillowBicubic.resize(image, newW, newH);
    }

    /** transformers' center_crop with top = (H - ch) // 2 and left = (W - cw) // 2. */
    public static RgbImage centerCrop(RgbImage image, int cropWidth, int cropHeight) {
        int w = image.width(), h = image.height();
        if (cropWidth > w || cropHeight > h) {
            // transformers zero-pads here; the release config (crop = shortest edge) never gets here.
            throw new Owl2jException("centre crop " + cropWidth + "x" + cropHeight + " is larger than the resized "
                    + w + "x" + h + " image (crop_size must not exceed size in preprocessor_config.json)");
        }
        if (cropWidth == w && cropHeight == h) return image;
        int top = Math.floorDiv(h - cropHeight, 2);
        int left = Math.floorDiv(w - cropWidth, 2);
        byte[] out = new byte[cropWidth * cropHeight * 3];
        for (int y = 0; y < cropHeight; y++) {
            System.arraycopy(image.rgb(), ((top + y) * w + left) * 3, out, y * cropWidth * 3, cropWidth * 3);
        }
        return new RgbImage(cropWidth, cropHeight, out);
    }
}
