package dev.owl2j.model.cpu.kernel;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sanity only (shared CI machines vary): both figures are positive and below physically absurd values. */
class MachinePeaksTest {
    @Test
    void measuresPlausibleFigures() {
        MachinePeaks.Peaks p = MachinePeaks.measure(64L << 20, 400);
        System.out.println("[machine peaks] " + p.format());
        assertTrue(p.bandwidthGBs() > 0.1 && p.bandwidthGBs() < 10_000, p.format());
        assertTrue(p.fmaGflops() > 0.1 && p.fmaGflops() < 1_000_000, p.format());
    }
}
