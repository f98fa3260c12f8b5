package dev.owl2j.model.image;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fresh images written by the JDK's encoders in many modes; the expected RGB is computed here from the pixel
 * values that were written and Pillow's documented convert("RGB") rules, not from our decoder.
 */
class ImageDecoderTest {
    final ImageDecoder decoder = new ImageDecoder();
    final Random rnd = new Random(20261130);

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no " + format + " writer for this image type");
        return out.toByteArray();
    }

    interface Expected {
        int rgb(int x, int y, int c);
    }

    static void assertPixels(RgbImage img, int w, int h, Expected e, String what) {
        assertEquals(w, img.width(), what + " width");
        assertEquals(h, img.height(), what + " height");
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < 3; c++) {
                    if (img.get(x, y, c) != e.rgb(x, y, c)) {
                        fail(what + ": pixel (" + x + "," + y + ") channel " + c + " is " + img.get(x, y, c)
                                + ", expected " + e.rgb(x, y, c));
                    }
                }
            }
        }
    }

    @Test
    void grayscalePngIsReplicated() throws IOException {
        BufferedImage img = new BufferedImage(37, 23, BufferedImage.TYPE_BYTE_GRAY);
        int[] v = new int[37 * 23];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextInt(256);
        img.getRaster().setSamples(0, 0, 37, 23, 0, v);
        RgbImage out = decoder.decode(encode(img, "png"), "gray.png");
        assertPixels(out, 37, 23, (x, y, c) -> v[y * 37 + x], "gray png");
    }

    @Test
    void sixteenBitGrayPngClampsLikePillowModeI() throws IOException {
        BufferedImage img = new BufferedImage(19, 11, BufferedImage.TYPE_USHORT_GRAY);
        int[] v = new int[19 * 11];
        for (int i = 0; i < v.length; i++) v[i] = i % 3 == 0 ? rnd.nextInt(300) : rnd.nextInt(65536);
        img.getRaster().setSamples(0, 0, 19, 11, 0, v);
        RgbImage out = decoder.decode(encode(img, "png"), "gray16.png");
        assertPixels(out, 19, 11, (x, y, c) -> Math.min(v[y * 19 + x], 255), "gray16 png");
    }

    @Test
    void rgbaPngDropsAlphaWithoutCompositing() throws IOException {
        BufferedImage img = new BufferedImage(21, 17, BufferedImage.TYPE_INT_ARGB);
        int[] argb = new int[21 * 17];
        for (int i = 0; i < argb.length; i++) {
            int a = i % 4 == 0 ? 0 : rnd.nextInt(256);
            argb[i] = (a << 24) | (rnd.nextInt(1 << 24));
        }
        img.setRGB(0, 0, 21, 17, argb, 0, 21);
        RgbImage out = decoder.decode(encode(img, "png"), "rgba.png");
        assertPixels(out, 21, 17, (x, y, c) -> (argb[y * 21 + x] >> (16 - 8 * c)) & 0xff, "rgba png");
    }

    @Test
    void grayAlphaPngDropsAlpha() throws IOException {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), true, false,
                Transparency.TRANSLUCENT, DataBuffer.TYPE_BYTE);
        WritableRaster r = cm.createCompatibleWritableRaster(13, 9);
        int[] g = new int[13 * 9];
        for (int i = 0; i < g.length; i++) {
            g[i] = rnd.nextInt(256);
            r.setSample(i % 13, i / 13, 0, g[i]);
            r.setSample(i % 13, i / 13, 1, i % 2 == 0 ? 0 : rnd.nextInt(256));
        }
        RgbImage out = decoder.decode(encode(new BufferedImage(cm, r, false, null), "png"), "la.png");
        assertPixels(out, 13, 9, (x, y, c) -> g[y * 13 + x], "LA png");
    }

    @Test
    void sixteenBitRgbPngKeepsHighByte() throws IOException {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster r = cm.createCompatibleWritableRaster(10, 7);
        int[] s = new int[10 * 7 * 3];
        for (int i = 0; i < s.length; i++) s[i] = rnd.nextInt(65536);
        r.setPixels(0, 0, 10, 7, s);
        RgbImage out = decoder.decode(encode(new BufferedImage(cm, r, false, null), "png"), "rgb16.png");
        assertPixels(out, 10, 7, (x, y, c) -> s[(y * 10 + x) * 3 + c] >> 8, "rgb16 png");
    }

    static IndexColorModel palette(int bits, int size, int transparent, Random rnd) {
        byte[] r = new byte[size], g = new byte[size], b = new byte[size];
        rnd.nextBytes(r);
        rnd.nextBytes(g);
        rnd.nextBytes(b);
        return new IndexColorModel(bits, size, r, g, b, transparent);
    }

    @Test
    void paletteGifAndPngWithTransparencyUsePaletteColours() throws IOException {
        IndexColorModel icm = palette(8, 200, 3, rnd);
        BufferedImage img = new BufferedImage(31, 29, BufferedImage.TYPE_BYTE_INDEXED, icm);
        int[] idx = new int[31 * 29];
        for (int i = 0; i < idx.length; i++) idx[i] = i % 5 == 0 ? 3 : rnd.nextInt(200);
        img.getRaster().setSamples(0, 0, 31, 29, 0, idx);
        Expected e = (x, y, c) -> {
            int i = idx[y * 31 + x];
            return c == 0 ? icm.getRed(i) : c == 1 ? icm.getGreen(i) : icm.getBlue(i);
        };
        assertPixels(decoder.decode(encode(img, "gif"), "pal.gif"), 31, 29, e, "palette gif");
        assertPixels(decoder.decode(encode(img, "png"), "pal.png"), 31, 29, e, "palette png");
    }

    /** Moves a GIF's first frame to (left, top) on a larger logical screen by patching the written bytes. */
    static byte[] placeOnScreen(byte[] gif, int screenW, int screenH, int left, int top) {
        ByteBuffer bb = ByteBuffer.wrap(gif).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bb.putShort(6, (short) screenW).putShort(8, (short) screenH);
        int flags = gif[10] & 0xff;
        int p = 13 + ((flags & 0x80) != 0 ? 3 * (1 << ((flags & 7) + 1)) : 0);
        while ((gif[p] & 0xff) == 0x21) { // extension: label, then sub-blocks up to a zero length
            p += 2;
            while (gif[p] != 0) p += (gif[p] & 0xff) + 1;
            p++;
        }
        assertEquals(0x2C, gif[p] & 0xff, "image descriptor");
        bb.putShort(p + 1, (short) left).putShort(p + 3, (short) top);
        return gif;
    }

    @Test
    void gifFirstFrameIsShownOnTheLogicalScreenLikePillow() throws IOException {
        for (int transparent : new int[]{-1, 5}) {
            IndexColorModel icm = palette(8, 256, transparent, rnd);
            BufferedImage img = new BufferedImage(10, 6, BufferedImage.TYPE_BYTE_INDEXED, icm);
            int[] idx = new int[60];
            for (int i = 0; i < idx.length; i++) idx[i] = 10 + rnd.nextInt(200);
            img.getRaster().setSamples(0, 0, 10, 6, 0, idx);
            byte[] gif = placeOnScreen(encode(img, "gif"), 17, 12, 4, 3);
            RgbImage out = decoder.decode(gif, "offset.gif");
            int fill = transparent < 0 ? 0 : transparent;
            assertPixels(out, 17, 12, (x, y, c) -> {
                boolean inFrame = x >= 4 && x < 14 && y >= 3 && y < 9;
                int i = inFrame ? idx[(y - 3) * 10 + (x - 4)] : fill;
                return c == 0 ? icm.getRed(i) : c == 1 ? icm.getGreen(i) : icm.getBlue(i);
            }, "gif on screen, transparent " + transparent);
        }
    }

    @Test
    void lowBitDepthGrayIsStretchedTo8Bits() throws IOException {
        for (int bits : new int[]{1, 2, 4}) {
            BufferedImage img = ImageTypeSpecifier.createGrayscale(bits, DataBuffer.TYPE_BYTE, false)
                    .createBufferedImage(27, 5);
            int[] v = new int[27 * 5];
            for (int i = 0; i < v.length; i++) v[i] = rnd.nextInt(1 << bits);
            img.getRaster().setSamples(0, 0, 27, 5, 0, v);
            int levels = (1 << bits) - 1;
            // Pillow unpacks "1", "L;2" and "L;4" to v * 255, v * 85 and v * 17.
            assertPixels(decoder.decode(encode(img, "png"), "gray" + bits + ".png"), 27, 5,
                    (x, y, c) -> v[y * 27 + x] * (255 / levels), bits + "-bit gray png");
        }
    }

    @Test
    void bmp24And565() throws IOException {
        BufferedImage rgb = new BufferedImage(15, 8, BufferedImage.TYPE_3BYTE_BGR);
        int[] s = new int[15 * 8 * 3];
        for (int i = 0; i < s.length; i++) s[i] = rnd.nextInt(256);
        rgb.getRaster().setPixels(0, 0, 15, 8, s);
        assertPixels(decoder.decode(encode(rgb, "bmp"), "rgb.bmp"), 15, 8, (x, y, c) -> s[(y * 15 + x) * 3 + c], "bmp24");

        BufferedImage p565 = new BufferedImage(9, 6, BufferedImage.TYPE_USHORT_565_RGB);
        int[] px = new int[9 * 6];
        for (int i = 0; i < px.length; i++) px[i] = rnd.nextInt(1 << 16);
        p565.getRaster().setDataElements(0, 0, 9, 6, toShorts(px));
        // Pillow's BGR;16 unpacker: 5/6/5-bit fields widened with integer division by 31 / 63.
        assertPixels(decoder.decode(encode(p565, "bmp"), "565.bmp"), 9, 6, (x, y, c) -> {
            int v = px[y * 9 + x];
            return c == 0 ? ((v >> 11) & 31) * 255 / 31 : c == 1 ? ((v >> 5) & 63) * 255 / 63 : (v & 31) * 255 / 31;
        }, "bmp565");
    }

    static short[] toShorts(int[] v) {
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) s[i] = (short) v[i];
        return s;
    }

    @Test
    void grayscaleJpegIsReplicated() throws IOException {
        BufferedImage img = new BufferedImage(40, 24, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 24; y++) {
            for (int x = 0; x < 40; x++) img.getRaster().setSample(x, y, 0, (x * 7 + y * 3) & 0xff);
        }
        byte[] jpg = encode(img, "jpeg");
        RgbImage out = decoder.decode(jpg, "gray.jpg");
        // The JDK's own decode of the single gray channel is the expectation for every channel.
        Raster ref = ImageIO.read(new java.io.ByteArrayInputStream(jpg)).getRaster();
        assertPixels(out, 40, 24, (x, y, c) -> ref.getSample(x, y, 0), "gray jpeg");
    }

    /** Pillow ignores embedded ICC profiles: a JPEG with an APP2 ICC_PROFILE marker decodes to the same values. */
    @Test
    void embeddedIccProfileIsIgnored() throws IOException {
        BufferedImage img = new BufferedImage(48, 32, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 48; x++) img.setRGB(x, y, (x * 5) << 16 | (y * 7) << 8 | ((x + y) * 3));
        }
        byte[] plain = encode(img, "jpeg");
        byte[] icc = java.awt.color.ICC_Profile.getInstance(ColorSpace.CS_LINEAR_RGB).getData();
        byte[] id = "ICC_PROFILE\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        int len = 2 + id.length + 2 + icc.length;
        assertTrue(len < 65536);
        ByteArrayOutputStream withIcc = new ByteArrayOutputStream();
        withIcc.write(plain, 0, 2); // SOI
        withIcc.write(new byte[]{(byte) 0xFF, (byte) 0xE2, (byte) (len >> 8), (byte) len});
        withIcc.write(id);
        withIcc.write(new byte[]{1, 1}); // chunk 1 of 1
        withIcc.write(icc);
        withIcc.write(plain, 2, plain.length - 2);
        RgbImage a = decoder.decode(plain, "plain.jpg");
        RgbImage b = decoder.decode(withIcc.toByteArray(), "icc.jpg");
        assertTrue(Arrays.equals(a.rgb(), b.rgb()), "ICC profile changed the decoded values");
    }

    /** A 4-component JPEG of flat 8x8-aligned blocks at quality 1.0 stores its values exactly. */
    @Test
    void cmykJpegConvertsLikePillow() throws IOException {
        int w = 32, h = 16;
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
        int[][] blocks = new int[8][4];
        for (int[] b : blocks) for (int i = 0; i < 4; i++) b[i] = rnd.nextInt(256);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) raster.setPixel(x, y, blocks[(y / 8) * 4 + x / 8]);
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(ios);
            ImageWriteParam p = writer.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(1.0f);
            writer.write(null, new IIOImage(raster, null, null), p);
        } finally {
            writer.dispose();
        }
        RgbImage out = decoder.decode(bytes.toByteArray(), "cmyk.jpg");
        // Pillow reads every CMYK JPEG as inverted ("CMYK;I"), then cmyk2rgb: nk - round(c * nk / 255), nk = 255 - k.
        assertPixels(out, w, h, (x, y, c) -> {
            int[] b = blocks[(y / 8) * 4 + x / 8];
            int cc = 255 - b[c], k = 255 - b[3];
            int nk = 255 - k;
            return nk - (int) Math.round(cc * nk / 255.0 - 1e-9);
        }, "cmyk jpeg");
    }

    /** Hand-assembled lossless WebP (VP8L) of one colour: each prefix code has a single symbol. */
    static byte[] flatWebp(int w, int h, int r, int g, int b) {
        BitWriter bw = new BitWriter();
        bw.put(0x2f, 8);
        bw.put(w - 1, 14);
        bw.put(h - 1, 14);
        bw.put(0, 1); // alpha unused
        bw.put(0, 3); // version
        bw.put(0, 1); // no transform
        bw.put(0, 1); // no colour cache
        bw.put(0, 1); // no meta prefix codes
        for (int sym : new int[]{g, r, b, 255, 0}) {
            bw.put(1, 1); // simple code
            bw.put(0, 1); // one symbol
            bw.put(1, 1); // 8-bit symbol
            bw.put(sym, 8);
        }
        byte[] vp8l = bw.bytes();
        int chunk = vp8l.length + (vp8l.length & 1);
        ByteBuffer bb = ByteBuffer.allocate(20 + chunk).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bb.put("RIFF".getBytes()).putInt(12 + chunk).put("WEBP".getBytes()).put("VP8L".getBytes()).putInt(vp8l.length);
        bb.put(vp8l);
        return bb.array();
    }

    static final class BitWriter {
        long acc;
        int n;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void put(int v, int bits) {
            acc |= ((long) v & ((1L << bits) - 1)) << n;
            n += bits;
            while (n >= 8) {
                out.write((int) (acc & 0xff));
                acc >>>= 8;
                n -= 8;
            }
        }

        byte[] bytes() {
            if (n > 0) out.write((int) (acc & 0xff));
            return out.toByteArray();
        }
    }

    @Test
    void losslessWebp() {
        RgbImage out = decoder.decode(flatWebp(23, 7, 200, 17, 99), "flat.webp");
        assertPixels(out, 23, 7, (x, y, c) -> new int[]{200, 17, 99}[c], "webp");
    }

    @Test
    void formatIsRecognisedFromContentNotName() throws IOException {
        BufferedImage img = new BufferedImage(4, 4, BufferedImage.TYPE_3BYTE_BGR);
        assertEquals(4, decoder.decode(encode(img, "png"), "actually-a-png.jpg").width());
    }

    // ---- bad input ----

    static void assertOneLine(Owl2jException e, String name, String problem) {
        String m = e.getMessage();
        assertFalse(m.contains("\n"), "one line: " + m);
        assertTrue(m.contains(name), "names the file: " + m);
        assertTrue(m.toLowerCase().contains(problem), "says '" + problem + "': " + m);
    }

    Owl2jException bad(byte[] data, String name) {
        return assertThrows(Owl2jException.class, () -> decoder.decode(data, name));
    }

    @Test
    void missingEmptyAndDirectory(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("nope.png");
        assertOneLine(assertThrows(Owl2jException.class, () -> decoder.decode(missing)), "nope.png", "not found");
        Path empty = Files.write(dir.resolve("empty.jpg"), new byte[0]);
        assertOneLine(assertThrows(Owl2jException.class, () -> decoder.decode(empty)), "empty.jpg", "empty");
        assertOneLine(assertThrows(Owl2jException.class, () -> decoder.decode(dir)), dir.toString(), "directory");
    }

    @Test
    void unsupportedFormat() {
        assertOneLine(bad("hello, world".getBytes(), "notes.txt"), "notes.txt", "unsupported");
        byte[] tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0};
        assertOneLine(bad(tiff, "scan.tif"), "scan.tif", "unsupported");
    }

    @Test
    void truncatedImages() throws IOException {
        byte[] jpg = Files.readAllBytes(TestData.tinyFixture().resolve("image1.jpg"));
        assertOneLine(bad(Arrays.copyOf(jpg, jpg.length / 2), "half.jpg"), "half.jpg", "truncated");
        byte[] png = Files.readAllBytes(TestData.tinyFixture().resolve("image0.png"));
        assertOneLine(bad(Arrays.copyOf(png, png.length / 2), "half.png"), "half.png", "truncated");
        assertOneLine(bad(Arrays.copyOf(png, 20), "header.png"), "header.png", "truncated");
        BufferedImage noisy = new BufferedImage(64, 64, BufferedImage.TYPE_BYTE_INDEXED, palette(8, 256, -1, rnd));
        byte[] px = new byte[64 * 64];
        rnd.nextBytes(px);
        noisy.getRaster().setDataElements(0, 0, 64, 64, px);
        byte[] gif = encode(noisy, "gif");
        assertOneLine(bad(Arrays.copyOf(gif, gif.length / 2), "half.gif"), "half.gif", "truncated");
        byte[] webp = flatWebp(8, 8, 1, 2, 3);
        assertOneLine(bad(Arrays.copyOf(webp, 22), "half.webp"), "half.webp", "truncated");
    }

    /** A PNG whose IHDR claims the given size (CRC fixed up), followed by the original small image data. */
    static byte[] pngWithSize(int w, int h) throws IOException {
        byte[] png = encode(new BufferedImage(8, 8, BufferedImage.TYPE_3BYTE_BGR), "png");
        ByteBuffer bb = ByteBuffer.wrap(png);
        bb.putInt(16, w).putInt(20, h);
        CRC32 crc = new CRC32();
        crc.update(png, 12, 17);
        bb.putInt(29, (int) crc.getValue());
        return png;
    }

    @Test
    void zeroSizeImage() throws IOException {
        assertOneLine(bad(pngWithSize(0, 8), "zero.png"), "zero.png", "zero");
    }

    @Test
    void pixelLimitIsCheckedFromTheHeaderBeforeDecoding() throws IOException {
        // 60000 x 60000 claimed by a file of a few hundred bytes: refused without allocating 10 GB of pixels.
        Owl2jException e = bad(pngWithSize(60000, 60000), "bomb.png");
        assertOneLine(e, "bomb.png", "over the limit");
        assertTrue(e.getMessage().contains("60000x60000"), e.getMessage());
        byte[] jpgBomb = Files.readAllBytes(TestData.tinyFixture().resolve("image1.jpg"));
        int sof = 2;
        while (!((jpgBomb[sof] & 0xff) == 0xFF && ((jpgBomb[sof + 1] & 0xff) == 0xC0 || (jpgBomb[sof + 1] & 0xff) == 0xC2))) {
            sof += 2 + ((jpgBomb[sof + 2] & 0xff) << 8 | (jpgBomb[sof + 3] & 0xff)); // skip marker segment
        }
        ByteBuffer.wrap(jpgBomb).putShort(sof + 5, (short) 65000).putShort(sof + 7, (short) 65000);
        Owl2jException j = bad(jpgBomb, "bomb.jpg");
        assertOneLine(j, "bomb.jpg", "over the limit");
        assertTrue(j.getMessage().contains("65000x65000"), j.getMessage());
        ImageDecoder small = new ImageDecoder(1000);
        byte[] jpg = Files.readAllBytes(TestData.tinyFixture().resolve("image1.jpg"));
        Owl2jException s = assertThrows(Owl2jException.class, () -> small.decode(jpg, "big.jpg"));
        assertOneLine(s, "big.jpg", "over the limit of 1000");
    }
}
