package dev.owl2j.runtime.generation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What --stats prints and the server's metrics count. */
public record GenerationStats(double imageEncodeMs, int images, int promptTokens, double prefillMs,
                              int generatedTokens, double decodeMs, long peakRssBytes) {
    public double prefillTokensPerSecond() {
        return prefillMs > 0 ? promptTokens / (prefillMs / 1000) : 0;
    }

    /** Tokens per second over the decode steps (the first token comes from the prefill). */
    public double decodeTokensPerSecond() {
        return hasDecodeRate() ? (generatedTokens - 1) / (decodeMs / 1000) : 0;
    }

    /** Peak resident set size of this process (VmHWM), or -1 where /proc is not available. */
    public static long peakRss() {
        return procBytes("/proc/self/status", "VmHWM:");
    }

    /**
     * Bytes of this process's anonymous memory in transparent huge pages right now (AnonHugePages of
     * /proc/self/smaps_rollup), or -1 where /proc does not say.
     */
    public static long anonHugePages() {
        return procBytes("/proc/self/smaps_rollup", "AnonHugePages:");
    }

    /** The "key: N kB" line of a /proc file in bytes, or -1 where the file or the line is missing (not Linux). */
    private static long procBytes(String file, String key) {
        try {
            for (String line : Files.readAllLines(Path.of(file))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // no figure
        }
        return -1;
    }

    /**
     * Sets this process's peak RSS (VmHWM) back to its current RSS (Linux: "5" written to /proc/self/clear_refs), so
     * that memory allocated and freed before does not count in a later {@link #peakRss()}. False where not possible.
     */
    public static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Whether there was a decode step to time: the first generated token comes from the prefill's logits. */
    public boolean hasDecodeRate() {
        return decodeMs > 0 && generatedTokens > 1;
    }

    public String format() {
        // with one generated token there is no decode step: a rate of 0 would read as a measurement
        String rate = hasDecodeRate() ? String.format(java.util.Locale.ROOT, "%.2f tok/s", decodeTokensPerSecond())
                : "no decode step to time";
        return String.format(java.util.Locale.ROOT,
                "images: %d in %.1f ms | prefill: %d tokens in %.1f ms (%.1f tok/s) | decode: %d tokens in %.1f ms (%s) | peak RSS: %.1f MiB",
                images, imageEncodeMs, promptTokens, prefillMs, prefillTokensPerSecond(), generatedTokens, decodeMs,
                rate, peakRssBytes / (1024.0 * 1024.0));
    }
}
