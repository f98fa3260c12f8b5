package dev.owl2j.model.cpu.kernel;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The peaks are measured on whatever machine runs the tests (shared, loaded, of any speed), so the measurement is
 * checked only for being a real reading, never against a speed; what is checked exactly is how a rate is put
 * against a peak.
 */
class MachinePeaksTest {
    @Test
    void measuresPositiveFiniteFigures() {
        MachinePeaks.Peaks p = MachinePeaks.measure(8L << 20, 50);
        System.out.println("[machine peaks] " + p.format());
        assertTrue(p.bandwidthGBs() > 0 && Double.isFinite(p.bandwidthGBs()), p.format());
        assertTrue(p.fmaGflops() > 0 && Double.isFinite(p.fmaGflops()), p.format());
        assertTrue(p.threads() >= 1 && p.vectorBits() >= 64, p.format());
    }

    @Test
    void aShareOfThePeakIsAPercentage() {
        assertEquals("73%", MachinePeaks.percentOf(73, 100, "FMA peak"));
        assertEquals("100%", MachinePeaks.percentOf(50, 50, "FMA peak"));
        assertEquals("0%", MachinePeaks.percentOf(0, 50, "FMA peak"));
    }

    @Test
    void aRateAboveThePeakIsReportedAsABadReadingNotAFigure() {
        for (double rate : new double[]{100.5, 262, 1e9}) {
            String s = MachinePeaks.percentOf(rate, 100, "FMA peak");
            assertTrue(s.startsWith("n/a: ") && s.contains("exceeds the measured FMA peak") && !s.contains("%"), s);
        }
    }

    @Test
    void aMissingOrBrokenPeakGivesNoFigure() {
        for (double peak : new double[]{0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertEquals("n/a (no valid bandwidth reading)", MachinePeaks.percentOf(10, peak, "bandwidth"));
        }
        assertEquals("n/a (no valid bandwidth reading)", MachinePeaks.percentOf(Double.NaN, 10, "bandwidth"));
    }
}
