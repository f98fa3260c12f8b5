package dev.owl2j.model.image;

import dev.owl2j.model.Owl2jException;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Decodes JPEG, PNG, BMP, GIF (first frame) and WebP into 8-bit RGB with the channel arithmetic of Pillow's
 * {@code Image.open(f).convert("RGB")}, which is what mPLUG-Owl2 does with every input:
 * <ul>
 *   <li>alpha is dropped, never composited (RGBA, LA, PNG tRNS, GIF transparency);</li>
 *   <li>grayscale is replicated; 1/2/4-bit grayscale is stretched to 0..255 (x255, x85, x17);</li>
 *   <li>palette images are looked up in their palette;</li>
 *   <li>16-bit RGB(A) and gray+alpha keep the high byte; 16-bit gray without alpha becomes Pillow mode "I",
 *       whose conversion to RGB clamps the value to 255 (so most 16-bit gray pictures come out nearly white,
 *       exactly as in the reference);</li>
 *   <li>CMYK JPEG is inverted and converted with Pillow's cmyk2rgb, as Pillow does; no ICC or gamma is applied to
 *       anything, and EXIF orientation is ignored, as Pillow does without {@code exif_transpose}.</li>
 * </ul>
 * The format is recognised from the file's first bytes, never from its name. Image dimensions are read from the
 * header and checked against the pixel limit before any pixel is decompressed (decompression bombs).
 * Decoding uses the JDK's ImageIO and TwelveMonkeys (JPEG with CMYK/YCCK, WebP); the pixel conversion reads
 * raw raster samples, because {@link BufferedImage#getRGB} would apply colour-space conversions Pillow does not.
 */
public final class ImageDecoder {
    /** Largest accepted width x height (Pillow warns from 89,478,485 pixels and refuses from twice that). */
    public static final long DEFAULT_MAX_PIXELS = 100_000_000L;
    /** Largest image file read from a path (the server's request limit is the same 20 MiB). */
    public static final int MAX_FILE_BYTES = 20 << 20;

    private final long maxPixels;

    public ImageDecoder() {
        this(DEFAULT_MAX_PIXELS);
    }

    public ImageDecoder(long maxPixels) {
        if (maxPixels <= 0) throw new IllegalArgumentException("maxPixels must be positive");
        this.maxPixels = maxPixels;
        ImageIO.setUseCache(false);
    }

    public long maxPixels() {
        return maxPixels;
    }

    /**
     * Decodes an image file: only a regular file (a FIFO would block, {@code /dev/zero} never ends) of at most
     * {@link #MAX_FILE_BYTES}, read with that cap even if the file grows meanwhile.
     */
    public RgbImage decode(Path file) {
        byte[] data;
        try {
            if (Files.isDirectory(file)) {
                throw new Owl2jException("cannot read image " + file + ": it is a directory");
            }
            if (!Files.exists(file)) {
                throw new Owl2jException("image not found: " + file);
            }
            if (!Files.isRegularFile(file)) {
                throw new Owl2jException("cannot read image " + file + ": not a regular file");
            }
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new Owl2jException("image " + file + " is " + Files.size(file) + " bytes, over the limit of " + MAX_FILE_BYTES);
            }
            try (var in = Files.newInputStream(file)) {
                data = in.readNBytes(MAX_FILE_BYTES + 1);
            }
            if (data.length > MAX_FILE_BYTES) {
                throw new Owl2jException("image " + file + " is over the limit of " + MAX_FILE_BYTES + " bytes");
            }
        } catch (NoSuchFileException e) {
            throw new Owl2jException("image not found: " + file);
        } catch (IOException e) {
            throw new Owl2jException("cannot read image " + file + ": " + oneLine(String.valueOf(e.getMessage())));
        }
        return decode(data, file.toString());
    }

    /** Container formats recognised from their signature. */
    enum Format {
        JPEG("jpeg"), PNG("png"), BMP("bmp"), GIF("gif"), WEBP("webp");
        final String imageIoName;

        Format(String imageIoName) {
            this.imageIoName = imageIoName;
        }
    }

    static Format sniff(byte[] d) {
        if (d.length >= 3 && (d[0] & 0xff) == 0xFF && (d[1] & 0xff) == 0xD8 && (d[2] & 0xff) == 0xFF) return Format.JPEG;
        if (d.length >= 8 && (d[0] & 0xff) == 0x89 && d[1] == 'P' && d[2] == 'N' && d[3] == 'G'
                && d[4] == 0x0D && d[5] == 0x0A && d[6] == 0x1A && d[7] == 0x0A) return Format.PNG;
        if (d.length >= 6 && d[0] == 'G' && d[1] == 'I' && d[2] == 'F' && d[3] == '8') return Format.GIF;
        if (d.length >= 2 && d[0] == 'B' && d[1] == 'M') return Format.BMP;
        if (d.length >= 12 && d[0] == 'R' && d[1] == 'I' && d[2] == 'F' && d[3] == 'F'
                && d[8] == 'W' && d[9] == 'E' && d[10] == 'B' && d[11] == 'P') return Format.WEBP;
        return null;
    }

    public RgbImage decode(byte[] data, String sourceName) {
        String name = sourceName == null ? "<image>" : sourceName;
        if (data == null || data.length == 0) {
            throw new Owl2jException(name + ": empty image file");
        }
        Format format = sniff(data);
        if (format == null) {
            throw new Owl2jException(name + ": unsupported or unrecognised image format"
                    + " (expected JPEG, PNG, BMP, GIF or WebP)");
        }
        String what = format.name();
        ImageReader reader = readerFor(format, name);
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = new ByteImageInputStream(data)) {
            reader.setInput(in, true, false);
            reader.addIIOReadWarningListener(new IIOReadWarningListener() {
                @Override
                public void warningOccurred(ImageReader source, String warning) {
                    warnings.add(warning);
                }
            });
            int w = reader.getWidth(0);
            int h = reader.getHeight(0);
            GifFrame gif = format == Format.GIF ? GifFrame.of(reader, w, h) : null;
            if (gif != null) {
                w = gif.canvasWidth;
                h = gif.canvasHeight;
            }
            if (w <= 0 || h <= 0) {
                throw new Owl2jException(name + ": " + what + " image has zero size (" + w + "x" + h + ")");
            }
            long pixels = (long) w * h;
            if (pixels > maxPixels) {
                throw new Owl2jException(name + ": image is " + w + "x" + h + " = " + pixels
                        + " pixels, over the limit of " + maxPixels + " (possible decompression bomb)");
            }
            RgbImage out;
            if (format == Format.JPEG && JpegColours.isCmyk(reader)) {
                out = JpegColours.cmykJpeg(reader, name);
            } else if (format == Format.JPEG) {
                out = JpegColours.jpeg(reader, name);
            } else {
                ImageReadParam param = reader.getDefaultReadParam();
                BufferedImage image = reader.read(0, param);
                if (gif != null && !gif.coversCanvas(image)) {
                    image = gif.onCanvas(image);
                }
                out = toRgb(image, name);
            }
            for (String warning : warnings) {
                if (isTruncation(warning)) {
                    throw new Owl2jException(name + ": " + what + " image is truncated (" + warning + ")");
                }
            }
            return out;
        } catch (Owl2jException e) {
            throw e;
        } catch (IOException | RuntimeException | LinkageError | StackOverflowError e) {
            // ImageIO readers report corrupt data as IIOException, some throw runtime exceptions on malformed headers
            // (IndexOutOfBounds, IllegalArgument, NegativeArraySize), and the PNG reader wraps whatever it caught as
            // "Caught exception during read:". The user sees what the reader said in words, never a class name.
            if (causedBy(e, OutOfMemoryError.class)) {
                throw new Owl2jException(name + ": not enough memory to decode the " + what + " image");
            }
            String kind = e instanceof ByteImageInputStream.PastEnd || endsEarly(e) || missingEnd(format, data) ? "truncated" : "corrupt";
            String detail = readerMessage(e);
            throw new Owl2jException(name + ": " + kind + " " + what + " image, cannot decode it"
                    + (detail == null ? "" : " (" + detail + ")"));
        } catch (OutOfMemoryError e) {
            throw new Owl2jException(name + ": not enough memory to decode the " + what + " image");
        } finally {
            reader.dispose();
        }
    }

    /**
     * Pillow 9.4 shows a GIF's first frame on the logical screen (widened if the frame sticks out), over a canvas
     * filled with the frame's transparent index, or index 0 when it has none; the JDK reader returns the bare frame.
     */
    record GifFrame(int canvasWidth, int canvasHeight, int left, int top, int fillIndex) {
        static GifFrame of(ImageReader reader, int frameWidth, int frameHeight) throws IOException {
            int sw = 0, sh = 0, left = 0, top = 0, fill = 0;
            IIOMetadata stream = reader.getStreamMetadata();
            if (stream != null) {
                IIOMetadataNode root = (IIOMetadataNode) stream.getAsTree("javax_imageio_gif_stream_1.0");
                var lsd = root.getElementsByTagName("LogicalScreenDescriptor");
                if (lsd.getLength() > 0) {
                    sw = intAttr(lsd.item(0), "logicalScreenWidth");
                    sh = intAttr(lsd.item(0), "logicalScreenHeight");
                }
            }
            IIOMetadata image = reader.getImageMetadata(0);
            if (image != null) {
                IIOMetadataNode root = (IIOMetadataNode) image.getAsTree("javax_imageio_gif_image_1.0");
                var desc = root.getElementsByTagName("ImageDescriptor");
                if (desc.getLength() > 0) {
                    left = intAttr(desc.item(0), "imageLeftPosition");
                    top = intAttr(desc.item(0), "imageTopPosition");
                }
                var gce = root.getElementsByTagName("GraphicControlExtension");
                if (gce.getLength() > 0 && "TRUE".equalsIgnoreCase(
                        ((IIOMetadataNode) gce.item(0)).getAttribute("transparentColorFlag"))) {
                    fill = intAttr(gce.item(0), "transparentColorIndex");
                }
            }
            return new GifFrame(Math.max(sw, left + frameWidth), Math.max(sh, top + frameHeight), left, top, fill);
        }

        private static int intAttr(org.w3c.dom.Node n, String attr) {
            String v = ((IIOMetadataNode) n).getAttribute(attr);
            return v == null || v.isEmpty() ? 0 : Integer.parseInt(v);
        }

        boolean coversCanvas(BufferedImage frame) {
            return left == 0 && top == 0 && frame.getWidth() == canvasWidth && frame.getHeight() == canvasHeight;
        }

        BufferedImage onCanvas(BufferedImage frame) {
            if (!(frame.getColorModel() instanceof IndexColorModel icm)) return frame;
            BufferedImage canvas = new BufferedImage(icm, icm.createCompatibleWritableRaster(canvasWidth, canvasHeight),
                    false, null);
            var r = canvas.getRaster();
            int[] row = new int[canvasWidth];
            java.util.Arrays.fill(row, fillIndex);
            for (int y = 0; y < canvasHeight; y++) r.setSamples(0, y, canvasWidth, 1, 0, row);
            int fw = frame.getWidth();
            int[] src = new int[fw];
            for (int y = 0; y < frame.getHeight(); y++) {
                frame.getRaster().getSamples(0, y, fw, 1, 0, src);
                r.setSamples(left, top + y, fw, 1, 0, src);
            }
            return canvas;
        }
    }

    /** Whether the file lacks its format's end marker or is shorter than its header says (wording of errors only). */
    static boolean missingEnd(Format format, byte[] d) {
        int n = d.length;
        return switch (format) {
            case PNG -> n < 12 || d[n - 8] != 'I' || d[n - 7] != 'E' || d[n - 6] != 'N' || d[n - 5] != 'D';
            case JPEG -> n < 4 || (d[n - 2] & 0xff) != 0xFF || (d[n - 1] & 0xff) != 0xD9;
            case GIF -> d[n - 1] != 0x3B;
            case WEBP -> littleEndianInt(d, 4) + 8L > n;
            case BMP -> n < 6 || littleEndianInt(d, 2) > n;
        };
    }

    private static long littleEndianInt(byte[] d, int at) {
        if (d.length < at + 4) return Long.MAX_VALUE;
        return (d[at] & 0xffL) | (d[at + 1] & 0xffL) << 8 | (d[at + 2] & 0xffL) << 16 | (d[at + 3] & 0xffL) << 24;
    }

    /** Whether the failure comes from running out of data (an EOFException or an end-of-data message anywhere in the chain). */
    private static boolean endsEarly(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.EOFException) return true;
            if (t.getMessage() != null && isTruncation(t.getMessage())) return true;
            if (t.getCause() == t) break;
        }
        return false;
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) return true;
        }
        return false;
    }

    /**
     * The first message in the cause chain that a reader wrote for people (an IIOException's own words), without
     * the PNG reader's "Caught exception during read:" wrapper; null when there is none (a bare runtime exception).
     */
    private static String readerMessage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = t.getMessage();
            if (!(t instanceof IOException) || m == null || m.isBlank()) continue;
            if (m.startsWith("Caught exception during read")) continue;
            if (m.contains("Exception") || m.contains("java.")) continue;
            return oneLine(m);
        }
        return null;
    }

    private static boolean isTruncation(String warning) {
        String w = warning.toLowerCase(Locale.ROOT);
        return w.contains("premature end") || w.contains("eof") || w.contains("truncat") || w.contains("end of file")
                || w.contains("unexpected end");
    }

    private static String oneLine(String s) {
        String t = s.replaceAll("[\\s\\p{Cntrl}]+", " ").trim();
        return t.length() > 200 ? t.substring(0, 200) + "..." : t;
    }

    private static ImageReader readerFor(Format format, String name) {
        Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(format.imageIoName);
        ImageReader first = null;
        while (it.hasNext()) {
            ImageReader r = it.next();
            // TwelveMonkeys' JPEG reader wraps the JDK one and adds CMYK/YCCK and broken-file tolerance.
            if (format == Format.JPEG && r.getClass().getName().startsWith("com.twelvemonkeys")) {
                if (first != null) first.dispose();
                return r;
            }
            if (first == null) first = r;
            else r.dispose();
        }
        if (first == null) {
            throw new Owl2jException(name + ": no decoder for " + format.name() + " images is available");
        }
        return first;
    }

    /** Raw raster samples to RGB with Pillow's convert("RGB") rules (see the class comment). */
    static RgbImage toRgb(BufferedImage image, String name) {
        int w = image.getWidth(), h = image.getHeight();
        Raster r = image.getRaster();
        ColorModel cm = image.getColorModel();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int x0 = r.getMinX(), y0 = r.getMinY();
        if (cm instanceof IndexColorModel icm) {
            int n = icm.getMapSize();
            byte[] reds = new byte[256], greens = new byte[256], blues = new byte[256];
            byte[] rr = new byte[n], gg = new byte[n], bb = new byte[n];
            icm.getReds(rr);
            icm.getGreens(gg);
            icm.getBlues(bb);
            System.arraycopy(rr, 0, reds, 0, Math.min(n, 256));
            System.arraycopy(gg, 0, greens, 0, Math.min(n, 256));
            System.arraycopy(bb, 0, blues, 0, Math.min(n, 256));
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(x0, y0 + y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int idx = row[x] & 0xff;
                    int o = (y * w + x) * 3;
                    out[o] = reds[idx];
                    out[o + 1] = greens[idx];
                    out[o + 2] = blues[idx];
                }
            }
            return new RgbImage(w, h, out);
        }
        if (cm instanceof ComponentColorModel) {
            int csType = cm.getColorSpace().getType();
            int bits = cm.getComponentSize(0);
            boolean alpha = cm.hasAlpha();
            int colourBands = cm.getNumColorComponents();
            if (csType == ColorSpace.TYPE_GRAY && colourBands == 1) {
                int[] row = new int[w];
                for (int y = 0; y < h; y++) {
                    r.getSamples(x0, y0 + y, w, 1, 0, row);
                    for (int x = 0; x < w; x++) {
                        int v = grayTo8(row[x], bits, alpha);
                        int o = (y * w + x) * 3;
                        out[o] = out[o + 1] = out[o + 2] = (byte) v;
                    }
                }
                return new RgbImage(w, h, out);
            }
            if (csType == ColorSpace.TYPE_RGB && colourBands == 3 && (bits == 8 || bits == 16)) {
                int shift = bits - 8;
                int[] row = new int[w];
                for (int c = 0; c < 3; c++) {
                    for (int y = 0; y < h; y++) {
                        r.getSamples(x0, y0 + y, w, 1, c, row);
                        for (int x = 0; x < w; x++) {
                            out[(y * w + x) * 3 + c] = (byte) (row[x] >>> shift);
                        }
                    }
                }
                return new RgbImage(w, h, out);
            }
        }
        if (cm instanceof DirectColorModel dcm && dcm.getColorSpace().isCS_sRGB()) {
            int[] masks = {dcm.getRedMask(), dcm.getGreenMask(), dcm.getBlueMask()};
            int[] row = new int[w];
            for (int c = 0; c < 3; c++) {
                int mask = masks[c];
                int shift = Integer.numberOfTrailingZeros(mask);
                int max = mask >>> shift;
                for (int y = 0; y < h; y++) {
                    // A packed raster has one band per mask, in the order red, green, blue (, alpha).
                    r.getSamples(x0, y0 + y, w, 1, c, row);
                    for (int x = 0; x < w; x++) {
                        // Pillow widens 5/6-bit fields with integer division (v * 255 / max).
                        int v = max == 255 ? row[x] : row[x] * 255 / max;
                        out[(y * w + x) * 3 + c] = (byte) v;
                    }
                }
            }
            return new RgbImage(w, h, out);
        }
        throw new Owl2jException(name + ": unsupported pixel layout (" + cm.getColorSpace().getType()
                + " colour space, " + cm.getNumComponents() + " components)");
    }

    /** One gray sample to 8 bits as Pillow's L / LA / I conversions do. */
    static int grayTo8(int v, int bits, boolean alpha) {
        if (bits == 8) return v;
        if (bits == 16) return alpha ? v >>> 8 : Math.min(v, 255);
        if (bits < 8) return v * 255 / ((1 << bits) - 1);
        return Math.min(v >>> (bits - 8), 255);
    }
}
