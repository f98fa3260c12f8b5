package dev.owl2j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The one comparison every numerical test uses (shared with the other modules through the owl2j-model test-jar):
 * every element, max abs difference, reported on failure.
 */
public final class NumericAssert {
    private NumericAssert() {}

    /** Fails unless expected and actual have the same length and every |difference| ≤ tolerance. Returns the max error. */
    public static double assertAllClose(String what, float[] expected, float[] actual, double tolerance) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (!(d <= max)) { // also catches NaN
                max = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                worst = i;
            }
        }
        if (!(max <= tolerance)) {
            fail(String.format("%s: max abs error %.3e at element %d (expected %s, got %s) exceeds tolerance %.1e",
                    what, max, worst, expected[worst], actual[worst], tolerance));
        }
        System.out.printf("%s: max abs error %.3e (tolerance %.1e)%n", what, max, tolerance);
        return max;
    }
}
