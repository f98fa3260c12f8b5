package dev.owl2j.model.image;

import dev.owl2j.model.Owl2jException;

import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import java.awt.color.ColorSpace;
import java.awt.image.Raster;
import java.io.IOException;

/**
 * JPEG's colour arithmetic as Pillow (libjpeg) does it: YCbCr to RGB with libjpeg's fixed-point tables, and
 * CMYK/YCCK files inverted and converted with Pillow's cmyk2rgb. The raw raster is read and converted here,
 * because ImageIO's own conversion applies colour profiles that Pillow does not.
 */
final class JpegColours {
    private JpegColours() {}

    /** Whether the JPEG's raw colour space is CMYK or YCCK (4 components). */
    static boolean isCmyk(ImageReader reader) throws IOException {
        var raw = reader.getRawImageType(0);
        if (raw != null) {
            int type = raw.getColorModel().getColorSpace().getType();
            if (type == ColorSpace.TYPE_CMYK) return true;
            if (raw.getSampleModel().getNumBands() == 4) return true;
        }
        IIOMetadata meta = reader.getImageMetadata(0);
        return meta != null && numJpegComponents(meta) == 4;
    }

    private static int numJpegComponents(IIOMetadata meta) {
        try {
            IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree("javax_imageio_jpeg_image_1.0");
            var sof = root.getElementsByTagName("sof");
            if (sof.getLength() > 0) {
                return Integer.parseInt(((IIOMetadataNode) sof.item(0)).getAttribute("numFrameComponents"));
            }
        } catch (RuntimeException ignored) {
            // Not the JDK metadata format: treat as not CMYK.
        }
        return -1;
    }

    private static int adobeTransform(IIOMetadata meta) {
        try {
            IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree("javax_imageio_jpeg_image_1.0");
            var adobe = root.getElementsByTagName("app14Adobe");
            if (adobe.getLength() > 0) {
                return Integer.parseInt(((IIOMetadataNode) adobe.item(0)).getAttribute("transform"));
            }
        } catch (RuntimeException ignored) {
            // No Adobe marker information.
        }
        return -1;
    }

    /**
     * Pillow opens every 4-component JPEG as mode CMYK with raw mode "CMYK;I": the stored values are inverted
     * unconditionally ("assume adobe conventions", marker or not; libjpeg has already turned YCCK into CMYK),
     * then converted with cmyk2rgb, ignoring any ICC profile.
     */
    static RgbImage cmykJpeg(ImageReader reader, String name) throws IOException {
        IIOMetadata meta = reader.getImageMetadata(0);
        int transform = meta == null ? -1 : adobeTransform(meta);
        Raster raster = reader.readRaster(0, reader.getDefaultReadParam());
        if (raster.getNumBands() != 4) {
            throw new Owl2jException(name + ": unsupported JPEG colour layout (" + raster.getNumBands() + " components)");
        }
        int w = raster.getWidth(), h = raster.getHeight();
        byte[] out = new byte[w * h * 3];
        int[] row = new int[w * 4];
        for (int y = 0; y < h; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, w, 1, row);
            for (int x = 0; x < w; x++) {
                int c = row[x * 4], m = row[x * 4 + 1], ye = row[x * 4 + 2], k = row[x * 4 + 3];
                if (transform == 2) {
                    // YCCK: libjpeg converts YCbCr to RGB, inverts it to CMY and keeps K.
                    int[] rgb = new int[3];
                    ycc2rgb(c, m, ye, rgb);
                    c = 255 - rgb[0];
                    m = 255 - rgb[1];
                    ye = 255 - rgb[2];
                }
                c = 255 - c;
                m = 255 - m;
                ye = 255 - ye;
                k = 255 - k;
                int o = (y * w + x) * 3;
                out[o] = (byte) cmykChannel(c, k);
                out[o + 1] = (byte) cmykChannel(m, k);
                out[o + 2] = (byte) cmykChannel(ye, k);
            }
        }
        return new RgbImage(w, h, out);
    }

    /**
     * Gray and 3-component JPEGs from the raw decoded components plus libjpeg's own YCbCr to RGB arithmetic:
     * reading through {@code read()} would let the reader apply an embedded ICC profile, which Pillow never does.
     * libjpeg's rule for 3 components: JFIF marker means YCbCr; else an Adobe marker's transform decides
     * (0 RGB, otherwise YCbCr); else component ids 'R','G','B' mean RGB; else YCbCr.
     */
    static RgbImage jpeg(ImageReader reader, String name) throws IOException {
        IIOMetadata meta = reader.getImageMetadata(0);
        Raster raster = reader.readRaster(0, reader.getDefaultReadParam());
        int bands = raster.getNumBands();
        int w = raster.getWidth(), h = raster.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        if (bands == 1) {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(raster.getMinX(), raster.getMinY() + y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3;
                    out[o] = out[o + 1] = out[o + 2] = (byte) row[x];
                }
            }
            return new RgbImage(w, h, out);
        }
        if (bands != 3) {
            throw new Owl2jException(name + ": unsupported JPEG colour layout (" + bands + " components)");
        }
        boolean ycc = jpegIsYcc(meta);
        int[] row = new int[w * 3];
        int[] rgb = new int[3];
        for (int y = 0; y < h; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, w, 1, row);
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                if (ycc) {
                    ycc2rgb(row[x * 3], row[x * 3 + 1], row[x * 3 + 2], rgb);
                    out[o] = (byte) rgb[0];
                    out[o + 1] = (byte) rgb[1];
                    out[o + 2] = (byte) rgb[2];
                } else {
                    out[o] = (byte) row[x * 3];
                    out[o + 1] = (byte) row[x * 3 + 1];
                    out[o + 2] = (byte) row[x * 3 + 2];
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    private static boolean jpegIsYcc(IIOMetadata meta) {
        if (meta == null) return true;
        IIOMetadataNode root;
        try {
            root = (IIOMetadataNode) meta.getAsTree("javax_imageio_jpeg_image_1.0");
        } catch (RuntimeException e) {
            return true;
        }
        if (root.getElementsByTagName("app0JFIF").getLength() > 0) return true;
        int transform = adobeTransform(meta);
        if (transform >= 0) return transform != 0;
        var comps = root.getElementsByTagName("componentSpec");
        if (comps.getLength() == 3) {
            int[] ids = new int[3];
            for (int i = 0; i < 3; i++) {
                ids[i] = Integer.parseInt(((IIOMetadataNode) comps.item(i)).getAttribute("componentId"));
            }
            if (ids[0] == 'R' && ids[1] == 'G' && ids[2] == 'B') return false;
        }
        return true;
    }

    /** Pillow's cmyk2rgb for one channel: nk - c * nk / 255 with MULDIV255 rounding, nk = 255 - k. */
    static int cmykChannel(int c, int k) {
        int nk = 255 - k;
        int tmp = c * nk + 128;
        int v = nk - (((tmp >> 8) + tmp) >> 8);
        return Math.max(0, Math.min(255, v));
    }

    /** libjpeg's YCbCr to RGB (ITU-R BT.601 full range, 16-bit fixed point, rounded). */
    static void ycc2rgb(int yy, int cb, int cr, int[] rgb) {
        final int scaleBits = 16;
        final int half = 1 << (scaleBits - 1);
        int cbv = cb - 128, crv = cr - 128;
        int r = yy + ((fix(1.40200) * crv + half) >> scaleBits);
        int g = yy + ((-fix(0.34414) * cbv - fix(0.71414) * crv + half) >> scaleBits);
        int b = yy + ((fix(1.77200) * cbv + half) >> scaleBits);
        rgb[0] = Math.max(0, Math.min(255, r));
        rgb[1] = Math.max(0, Math.min(255, g));
        rgb[2] = Math.max(0, Math.min(255, b));
    }

    private static int fix(double x) {
        return (int) (x * (1L << 16) + 0.5);
    }
}
