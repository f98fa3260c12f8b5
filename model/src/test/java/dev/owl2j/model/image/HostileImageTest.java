package dev.owl2j.model.image;

import dev.owl2j.model.UserErrors;
import dev.owl2j.model.config.PreprocessorConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** Image bombs, degenerate shapes, truncated and hostile files: one line each, bounded memory (docs/security.md, Images). */
class HostileImageTest {
    /** A gray 8-bit PNG of w x h zero pixels, built by hand (IHDR, one IDAT, IEND). */
    static byte[] grayPng(int w, int h) throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        try (DeflaterOutputStream z = new DeflaterOutputStream(raw, new Deflater(9))) {
            byte[] row = new byte[1 + w];
            for (int y = 0; y < h; y++) z.write(row);
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        chunk(png, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0).array());
        chunk(png, "IDAT", raw.toByteArray());
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /**
     * A 100,000,000 x 1 PNG (the example) is within the pixel limit, so it decodes; what would explode is the
     * square canvas of pad/resize (10^16 pixels) and the shortest-edge resize of crop (4.48 * 10^10 pixels long):
     * each is refused before anything is allocated. Narrower degenerate shapes with a lower limit, the same way.
     */
    @Test
    void degenerateShapesAreRefusedBeforeTheirIntermediateImagesExist() throws IOException {
        ImagePreprocessor pre = new ImagePreprocessor(PreprocessorConfig.clip448());
        RgbImage line = new ImageDecoder().decode(grayPng(100_000_000, 1), "line.png");
        assertEquals(100_000_000, line.width());
        for (AspectMode mode : AspectMode.values()) {
            String m = UserErrors.assertRefused(() -> pre.pixelValues(line, mode), "image: a 100000000x1 image");
            assertTrue(m.contains("over the limit of 100000000 pixels"), m);
        }
        ImagePreprocessor small = new ImagePreprocessor(PreprocessorConfig.clip448(), new ImageDecoder(2_000_000));
        for (int[] wh : new int[][]{{20_000, 1}, {1, 20_000}, {1_999_999, 1}, {3, 600_000}}) {
            byte[] png = grayPng(wh[0], wh[1]);
            for (AspectMode mode : AspectMode.values()) {
                UserErrors.assertRefused(() -> small.pixelValues(png, "thin.png", mode), "thin.png: a " + wh[0] + "x" + wh[1] + " image");
            }
        }
        // ordinary shapes are untouched
        assertEquals(3 * 448 * 448, small.pixelValues(grayPng(600, 200), "ok.png", AspectMode.PAD).length);
        assertEquals(3 * 448 * 448, small.pixelValues(grayPng(300, 1000), "ok.png", AspectMode.CROP).length);
    }

    /** Every format's header claims more pixels than the limit: refused from the header, before decoding. */
    @Test
    void bombsOfEveryFormatAreRefusedFromTheirHeaders() throws IOException {
        ImageDecoder d = new ImageDecoder();
        String msg = "over the limit of 100000000";
        byte[] png = grayPng(8, 8);
        ByteBuffer.wrap(png).putInt(16, 50_000).putInt(20, 50_000);
        UserErrors.assertRefused(() -> d.decode(png, "bomb.png"), msg);

        byte[] gif = ImageDecoderTest.encode(new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_BYTE_INDEXED), "gif");
        ByteBuffer.wrap(gif).order(ByteOrder.LITTLE_ENDIAN).putShort(6, (short) 65535).putShort(8, (short) 65535);
        UserErrors.assertRefused(() -> d.decode(gif, "bomb.gif"), msg);

        byte[] bmp = ImageDecoderTest.encode(new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_3BYTE_BGR), "bmp");
        ByteBuffer.wrap(bmp).order(ByteOrder.LITTLE_ENDIAN).putInt(18, 40_000).putInt(22, 40_000);
        UserErrors.assertRefused(() -> d.decode(bmp, "bomb.bmp"), "bomb.bmp: "); // the JDK reader refuses it from the header

        byte[] jpg = ImageDecoderTest.encode(new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_3BYTE_BGR), "jpeg");
        int sof = sofOffset(jpg);
        ByteBuffer.wrap(jpg).putShort(sof + 3, (short) 60_000).putShort(sof + 5, (short) 60_000);
        UserErrors.assertRefused(() -> d.decode(jpg, "bomb.jpg"), msg);

        byte[] webp = ImageDecoderTest.flatWebp(4, 4, 1, 2, 3);
        // VP8L: signature 0x2f at byte 20, then 14 bits width - 1 and 14 bits height - 1 (little-endian bit order)
        int bits = (16383) | (16383 << 14) | ((webp[24] >> 4 & 0x0f) << 28);
        ByteBuffer.wrap(webp).order(ByteOrder.LITTLE_ENDIAN).putInt(21, bits);
        UserErrors.assertRefused(() -> d.decode(webp, "bomb.webp"), msg);
    }

    private static int sofOffset(byte[] jpg) {
        for (int i = 2; i + 1 < jpg.length; i++) {
            if ((jpg[i] & 0xff) == 0xFF && ((jpg[i + 1] & 0xff) == 0xC0 || (jpg[i + 1] & 0xff) == 0xC2)) return i + 2;
        }
        throw new IllegalStateException("no SOF marker");
    }

    /** Every format cut at several points, and with its bytes overwritten in the middle: one line, never a class name. */
    @Test
    void truncatedAndDamagedFilesOfEveryFormatAreOneLine() throws IOException {
        ImageDecoder d = new ImageDecoder();
        java.util.Random rnd = new java.util.Random(7);
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(40, 30, java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, rnd.nextInt());
        byte[][] files = {ImageDecoderTest.encode(img, "png"), ImageDecoderTest.encode(img, "jpeg"), ImageDecoderTest.encode(img, "bmp"),
                ImageDecoderTest.encode(new java.awt.image.BufferedImage(40, 30, java.awt.image.BufferedImage.TYPE_BYTE_INDEXED), "gif"),
                ImageDecoderTest.flatWebp(40, 30, 9, 8, 7)};
        for (byte[] f : files) {
            for (int cut : new int[]{f.length - 1, f.length * 3 / 4, f.length / 2, 40, 16, 8}) {
                oneLineOrDecoded(d, Arrays.copyOf(f, cut));
            }
            for (int at : new int[]{f.length / 3, f.length / 2, 2 * f.length / 3}) {
                byte[] damaged = f.clone();
                for (int i = at; i < Math.min(f.length, at + 12); i++) damaged[i] = (byte) rnd.nextInt();
                oneLineOrDecoded(d, damaged);
            }
        }
    }

    private static void oneLineOrDecoded(ImageDecoder d, byte[] data) {
        try {
            d.decode(data, "x");
        } catch (dev.owl2j.model.Owl2jException e) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertFalse(e.getMessage().matches(".*[A-Z][a-z]+(Exception|Error).*"), e.getMessage());
            assertFalse(e.getMessage().contains("Caught exception"), e.getMessage());
        }
    }

    /**
     * Fuzzing finding: a truncated lossless WebP whose header claims 2000x2000 pixels. TwelveMonkeys' bit reader
     * swallows the end of the data and decodes zeros, one exception per read: minutes of CPU for 34 bytes (a
     * 200x200 one took 18 s and came back "decoded"). Reads past the end are now bounded, so it is a truncated file.
     */
    @Test
    void aReaderThatKeepsReadingPastTheEndIsStopped() throws IOException {
        byte[] webp;
        try (var in = getClass().getResourceAsStream("ImageFuzzTestInputs/decode/truncated-lossless-2000x2000.webp")) {
            webp = in.readAllBytes();
        }
        UserErrors.assertRefused(() -> new ImageDecoder().decode(webp, "cut.webp"), "cut.webp: truncated WEBP image");
        ByteBuffer.wrap(webp).order(ByteOrder.LITTLE_ENDIAN).putInt(21, 199 | (199 << 14));
        UserErrors.assertRefused(() -> new ImageDecoder().decode(webp, "cut.webp"), "cut.webp: truncated WEBP image");
        // the stream itself: end-of-file as usual, then an unchecked stop after the bound
        ByteImageInputStream s = new ByteImageInputStream(new byte[]{1, 2});
        assertEquals(1, s.read());
        assertEquals(2, s.read());
        for (int i = 0; i < ByteImageInputStream.MAX_READS_PAST_END; i++) {
            assertThrows(java.io.EOFException.class, s::readByte);
        }
        assertThrows(ByteImageInputStream.PastEnd.class, s::readByte);
    }

    /** Paths that are not regular files, and files over the size limit, are refused before reading. */
    @Test
    void onlyRegularFilesUnderTheLimitAreRead(@TempDir Path tmp) throws Exception {
        ImageDecoder d = new ImageDecoder();
        UserErrors.assertRefused(() -> d.decode(Path.of("/dev/zero")), "not a regular file");
        Path fifo = tmp.resolve("fifo.png");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, mk.waitFor());
        UserErrors.assertRefused(() -> d.decode(fifo), "not a regular file");
        Path big = tmp.resolve("big.png");
        try (var ch = java.nio.channels.FileChannel.open(big, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(grayPng(8, 8)));
            ch.write(ByteBuffer.wrap(new byte[1]), ImageDecoder.MAX_FILE_BYTES); // sparse: no disk space used
        }
        UserErrors.assertRefused(() -> d.decode(big), "over the limit of " + ImageDecoder.MAX_FILE_BYTES);
        Files.delete(big);
    }
}
