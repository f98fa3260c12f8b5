package dev.owl2j.runtime.generation;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class GenerationStatsTest {
    @Test
    void oneGeneratedTokenHasNoDecodeRate() {
        GenerationStats one = new GenerationStats(0, 0, 18, 500, 1, 23.3, -1);
        assertTrue(!one.hasDecodeRate() && one.format().contains("decode: 1 tokens in 23.3 ms (no decode step to time)"),
                one.format());
        GenerationStats five = new GenerationStats(0, 0, 18, 500, 5, 400, -1);
        assertEquals(10.0, five.decodeTokensPerSecond(), 1e-9); // 4 steps in 0.4 s
        assertTrue(five.format().contains("(10.00 tok/s)"), five.format());
    }

    private static final long BUFFER = 256L << 20;

    @Test
    void peakRssCountsAFreedBufferUntilReset() {
        assumeTrue(GenerationStats.peakRss() > 0, "no /proc/self/status here");
        long before = GenerationStats.peakRss();
        long current;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(BUFFER, 4096);
            for (long o = 0; o < BUFFER; o += 4096) {
                buf.set(ValueLayout.JAVA_LONG, o, o + 1); // touch every page, so it is resident
            }
            current = GenerationStats.peakRss();
        }
        assertTrue(current >= before && current > BUFFER, "peak " + current + " after touching " + BUFFER + " bytes");

        // a kernel without clear_refs (or a sandbox that hides it) cannot reset: then the bench says so in its output
        assumeTrue(GenerationStats.resetPeakRss(), "this system cannot reset the peak RSS");
        long after = GenerationStats.peakRss();
        // the freed buffer no longer counts: the peak fell by most of it
        assertTrue(after < current - BUFFER / 2, "peak " + after + " after the reset, " + current + " before");
    }
}
