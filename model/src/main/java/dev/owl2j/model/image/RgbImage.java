package dev.owl2j.model.image;

/**
 * An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B (HWC uint8, like a numpy array of a
 * Pillow "RGB" image).
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive: " + width + "x" + height);
        }
        if (rgb == null || rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("rgb buffer of " + (rgb == null ? 0 : rgb.length)
                    + " bytes for a " + width + "x" + height + " image");
        }
    }

    /** A width x height image filled with one colour. */
    public static RgbImage filled(int width, int height, int r, int g, int b) {
        byte[] px = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        for (int i = 0; i < px.length; i += 3) {
            px[i] = (byte) r;
            px[i + 1] = (byte) g;
            px[i + 2] = (byte) b;
        }
        return new RgbImage(width, height, px);
    }

    /** Channel c (0 R, 1 G, 2 B) of pixel (x, y) as 0..255. */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xff;
    }
}
