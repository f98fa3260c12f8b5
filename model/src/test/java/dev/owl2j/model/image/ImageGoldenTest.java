package dev.owl2j.model.image;

import dev.owl2j.model.TestData;
import dev.owl2j.model.config.PreprocessorConfig;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fixture's goldens were made by Pillow 9.4 + the CLIP processor arithmetic (independent Python oracle):
 * every uint8 stage and pixel_values must match bit for bit.
 */
class ImageGoldenTest {
    static SafetensorsFile golden;
    static final ImagePreprocessor PRE = new ImagePreprocessor(PreprocessorConfig.clip448());
    static final ImageDecoder DECODER = new ImageDecoder();

    @BeforeAll
    static void open() {
        golden = SafetensorsFile.open(TestData.golden());
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    static Path image(int i) {
        return TestData.tinyFixture().resolve(i == 0 ? "image0.png" : "image1.jpg");
    }

    static byte[] u8(String name) {
        Tensor t = golden.get(name);
        assertEquals(DType.U8, t.dtype(), name);
        return t.data().toArray(ValueLayout.JAVA_BYTE);
    }

    static void assertSameBytes(byte[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        int diffs = 0, first = -1;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                if (first < 0) first = i;
                diffs++;
            }
        }
        if (diffs > 0) {
            fail(what + ": " + diffs + " of " + expected.length + " bytes differ, first at " + first + " (expected "
                    + (expected[first] & 0xff) + ", got " + (actual[first] & 0xff) + ")");
        }
    }

    static void assertSameFloats(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }

    @Test
    void pngDecodesAndAllModesMatchBitExactly() {
        RgbImage img = DECODER.decode(image(0));
        assertEquals(640, img.width());
        assertEquals(480, img.height());
        for (AspectMode mode : AspectMode.values()) {
            RgbImage out = PRE.prepare(img, mode);
            assertSameBytes(u8("image0.resized_rgb." + mode.cliName()), out.rgb(), "image0 " + mode);
        }
        assertSameFloats(golden.get("image0.pixel_values").toFloatArray(), PRE.pixelValues(image(0), AspectMode.PAD),
                "image0.pixel_values");
    }

    /** The resize/normalise path on Pillow's own decode of the JPEG, so exactness does not depend on the decoder. */
    @Test
    void jpegPipelineOnGoldenDecodeMatchesBitExactly() {
        RgbImage decoded = new RgbImage(300, 500, u8("image1.decoded_rgb"));
        for (AspectMode mode : AspectMode.values()) {
            assertSameBytes(u8("image1.resized_rgb." + mode.cliName()), PRE.prepare(decoded, mode).rgb(), "image1 " + mode);
        }
        assertSameFloats(golden.get("image1.pixel_values").toFloatArray(), PRE.pixelValues(decoded, AspectMode.PAD),
                "image1.pixel_values");
    }

    @Test
    void jpegDecodeVersusLibjpegTurbo() {
        RgbImage ours = DECODER.decode(image(1));
        assertEquals(300, ours.width());
        assertEquals(500, ours.height());
        byte[] ref = u8("image1.decoded_rgb");
        int maxDiff = 0, differing = 0;
        for (int i = 0; i < ref.length; i++) {
            int d = Math.abs((ref[i] & 0xff) - (ours.rgb()[i] & 0xff));
            maxDiff = Math.max(maxDiff, d);
            if (d != 0) differing++;
        }
        System.out.printf("image1.jpg decode vs Pillow/libjpeg-turbo: max |diff| %d, %d of %d samples differ (%.4f%%)%n",
                maxDiff, differing, ref.length, 100.0 * differing / ref.length);
        assertTrue(maxDiff <= 0, "max JPEG decode difference " + maxDiff);
    }
}
