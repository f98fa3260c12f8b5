package dev.owl2j.model.image;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;
import dev.owl2j.model.config.PreprocessorConfig;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Properties of the resize and the aspect steps that follow from their definitions (the bit-exact goldens are in ImageGoldenTest). */
class ImagePreprocessorTest {
    final Random rnd = new Random(7);

    RgbImage random(int w, int h) {
        byte[] px = new byte[w * h * 3];
        rnd.nextBytes(px);
        return new RgbImage(w, h, px);
    }

    @Test
    void aspectModeParse() {
        assertEquals(AspectMode.PAD, AspectMode.parse("pad"));
        assertEquals(AspectMode.RESIZE, AspectMode.parse("Resize"));
        assertEquals(AspectMode.CROP, AspectMode.parse("crop"));
        Owl2jException e = assertThrows(Owl2jException.class, () -> AspectMode.parse("squash"));
        assertTrue(e.getMessage().contains("squash"), e.getMessage());
        assertThrows(Owl2jException.class, () -> AspectMode.parse(null));
    }

    @Test
    void sameSizeResizeIsACopy() {
        RgbImage img = random(33, 21);
        RgbImage out = PillowBicubic.resize(img, 33, 21);
        assertNotSame(img.rgb(), out.rgb());
        assertArrayEquals(img.rgb(), out.rgb());
    }

    /** Fixed-point weights sum to 1 within a few 2^-22, so a flat image stays exactly flat at any scale. */
    @Test
    void flatImageStaysFlat() {
        int[][] sizes = {{640, 480, 448, 448}, {300, 500, 448, 746}, {7, 3, 1000, 2}, {1000, 999, 13, 1}, {1, 1, 5, 9}};
        for (int[] s : sizes) {
            RgbImage out = PillowBicubic.resize(RgbImage.filled(s[0], s[1], 0, 255, 122), s[2], s[3]);
            assertEquals(s[2], out.width());
            assertEquals(s[3], out.height());
            for (int i = 0; i < out.rgb().length; i += 3) {
                assertEquals(0, out.rgb()[i] & 0xff);
                assertEquals(255, out.rgb()[i + 1] & 0xff);
                assertEquals(122, out.rgb()[i + 2] & 0xff);
            }
        }
    }

    /** Each pass is separable: resizing only the width treats every row independently. */
    @Test
    void horizontalOnlyResizeIsRowWise() {
        RgbImage img = random(50, 4);
        RgbImage whole = PillowBicubic.resize(img, 23, 4);
        for (int y = 0; y < 4; y++) {
            byte[] row = java.util.Arrays.copyOfRange(img.rgb(), y * 150, (y + 1) * 150);
            RgbImage one = PillowBicubic.resize(new RgbImage(50, 1, row), 23, 1);
            assertArrayEquals(one.rgb(), java.util.Arrays.copyOfRange(whole.rgb(), y * 69, (y + 1) * 69));
        }
    }

    @Test
    void padCentresOnTheMeanColour() {
        ImagePreprocessor pre = new ImagePreprocessor(PreprocessorConfig.clip448());
        assertArrayEquals(new int[]{122, 116, 104}, pre.padColour());
        RgbImage img = RgbImage.filled(10, 3, 1, 2, 3);
        RgbImage sq = ImagePreprocessor.expandToSquare(img, pre.padColour());
        assertEquals(10, sq.width());
        assertEquals(10, sq.height());
        for (int y = 0; y < 10; y++) {
            boolean inside = y >= 3 && y < 6; // (10 - 3) // 2 = 3
            assertEquals(inside ? 1 : 122, sq.get(4, y, 0), "row " + y);
        }
        RgbImage tall = ImagePreprocessor.expandToSquare(RgbImage.filled(3, 8, 9, 9, 9), pre.padColour());
        assertEquals(122, tall.get(1, 0, 0));
        assertEquals(9, tall.get(2, 0, 0)); // (8 - 3) // 2 = 2
        assertEquals(9, tall.get(4, 7, 0));
        assertEquals(122, tall.get(5, 7, 0));
    }

    @Test
    void everyModeGivesTheTowerSizeAndTheFixtureConfigEqualsTheDefault() {
        PreprocessorConfig fromFile = PreprocessorConfig.read(TestData.tinyFixture().resolve("preprocessor_config.json"));
        ImagePreprocessor a = new ImagePreprocessor(fromFile);
        ImagePreprocessor b = new ImagePreprocessor(PreprocessorConfig.clip448());
        assertEquals(448, a.imageSize());
        RgbImage img = random(123, 45);
        for (AspectMode m : AspectMode.values()) {
            float[] pa = a.pixelValues(img, m);
            assertEquals(3 * 448 * 448, pa.length);
            assertArrayEquals(b.pixelValues(img, m), pa);
        }
    }

    /** float32(u8 / 255 in double) then (x - mean) / std in float32, channel planes in RGB order. */
    @Test
    void normalizeArithmetic() {
        ImagePreprocessor pre = new ImagePreprocessor(PreprocessorConfig.clip448());
        RgbImage img = random(448, 448);
        float[] px = pre.pixelValues(img, AspectMode.PAD);
        float[] mean = {0.48145466f, 0.4578275f, 0.40821073f};
        float[] std = {0.26862954f, 0.26130258f, 0.27577711f};
        int plane = 448 * 448;
        for (int i = 0; i < plane; i += 997) {
            for (int c = 0; c < 3; c++) {
                float v = (float) ((img.rgb()[i * 3 + c] & 0xff) * (1.0 / 255)); // numpy: uint8 array * Python float
                assertEquals(Float.floatToIntBits((v - mean[c]) / std[c]), Float.floatToIntBits(px[c * plane + i]));
            }
        }
    }
}
