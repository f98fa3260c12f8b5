package dev.owl2j.model.cpu;

import dev.owl2j.model.NumericAssert;
import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Vision tower against the float64 oracle; the golden pixel_values are fed directly. Tolerance: 1e-5 abs. */
class VisionEncoderTest {
    static final double STATE_TOLERANCE = 1e-5;

    @ParameterizedTest
    @ValueSource(strings = {"image0", "image1"})
    void embeddingsAndLastHiddenStateMatchTheOracle(String image) {
        Map<String, float[]> stages = new HashMap<>();
        float[] out = Fixture.model().visionEncoder()
                .forward(Fixture.golden(image + ".pixel_values"), (name, rows, cols, data) -> stages.put(name, data));
        NumericAssert.assertAllClose(image + ".vision.embeddings",
                Fixture.golden(image + ".vision.embeddings"), stages.get("vision.embeddings"), STATE_TOLERANCE);
        NumericAssert.assertAllClose(image + ".vision.last_hidden_state",
                Fixture.golden(image + ".vision.last_hidden_state"), out, STATE_TOLERANCE);
    }

    @Test
    void wrongPixelCountIsAUserError() {
        Owl2jException e = assertThrows(Owl2jException.class,
                () -> Fixture.model().visionEncoder().forward(new float[3 * 224 * 224], Trace.NONE));
        assertTrue(e.getMessage().contains("expected 602112"), e.getMessage());
    }
}
