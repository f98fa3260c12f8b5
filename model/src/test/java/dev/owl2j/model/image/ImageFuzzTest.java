package dev.owl2j.model.image;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.owl2j.model.fuzz.FuzzTargets;
import org.junit.jupiter.params.provider.MethodSource;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Every image decoder on any bytes (the format is sniffed from the first bytes, so one target reaches the JPEG,
 * PNG, GIF, BMP and WebP readers; seeds: a small file of each kind and colour layout). The pixel limit is lowered
 * to 4 megapixels so that a decoded bomb shows as the limit's error, not as a slow run.
 */
class ImageFuzzTest {
    private static final ImageDecoder DECODER = new ImageDecoder(4_000_000);

    @MethodSource("seeds")
    @FuzzTest(maxDuration = "15s")
    void decode(byte[] file) {
        FuzzTargets.userErrorsOnly(() -> DECODER.decode(file, "fuzz"));
    }

    static Stream<byte[]> seeds() {
        List<byte[]> out = new ArrayList<>();
        Random rnd = new Random(16);
        int[] types = {BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_4BYTE_ABGR,
                BufferedImage.TYPE_USHORT_GRAY, BufferedImage.TYPE_USHORT_565_RGB};
        try {
            for (int type : types) {
                BufferedImage img = new BufferedImage(9, 7, type);
                for (int y = 0; y < 7; y++) for (int x = 0; x < 9; x++) img.setRGB(x, y, rnd.nextInt());
                out.add(ImageDecoderTest.encode(img, "png"));
                if (type == BufferedImage.TYPE_3BYTE_BGR || type == BufferedImage.TYPE_BYTE_GRAY) {
                    out.add(ImageDecoderTest.encode(img, "jpeg"));
                }
                if (type == BufferedImage.TYPE_3BYTE_BGR || type == BufferedImage.TYPE_USHORT_565_RGB) {
                    out.add(ImageDecoderTest.encode(img, "bmp"));
                }
            }
            BufferedImage indexed = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_INDEXED,
                    ImageDecoderTest.palette(8, 256, 3, rnd));
            out.add(ImageDecoderTest.encode(indexed, "gif"));
            out.add(ImageDecoderTest.encode(indexed, "png"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.add(ImageDecoderTest.flatWebp(5, 3, 10, 200, 30));
        return out.stream();
    }
}
