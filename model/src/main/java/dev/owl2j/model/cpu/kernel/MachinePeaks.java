package dev.owl2j.model.cpu.kernel;

import dev.owl2j.model.cpu.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * Measures what this machine can do, so benchmark figures can be stated as a fraction of the hardware bound:
 * memory bandwidth (all pool threads streaming reads over an off-heap buffer far larger than the caches) and FMA
 * throughput (each thread runs 12, then 16 independent vector FMA chains, and the better count is kept: enough
 * to cover FMA latency × issue width on current x86 and ARM cores). Both use the same ForkJoin pool and vector
 * species as the kernels, so the numbers are what Java code can reach here, which is the fair bound for the
 * kernels (not the datasheet peak).
 *
 * <p>Vector API code runs orders of magnitude slower before the JIT has compiled it, so every kernel here is first
 * called a fixed number of times on a small, cache-resident input ({@link #warmUp}: a count, never a time window,
 * so a loaded machine only makes it slower, not wrong), and only then timed, over at least {@link #MIN_PASSES}
 * passes and the given window, keeping the best pass. A rate measured elsewhere that comes out above a peak from
 * here means the peak reading was wrong: {@link #percentOf} says so instead of printing a figure over 100 %.
 */
public final class MachinePeaks {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static volatile float sink;

    /**
     * Calls of each kernel before any timing. The JIT's thresholds for its optimising tier are a few thousand
     * calls or tens of thousands of loop iterations; this is several times both, on inputs small enough that even
     * interpreted calls cost little.
     */
    static final int WARM_CALLS = 20_000;
    /** Timed passes at least, whatever the window: the best of one or two passes is too noisy on a shared host. */
    static final int MIN_PASSES = 5;
    private static final Object WARM_LOCK = new Object();
    private static boolean warm;

    /** Bandwidth in GB/s (10^9 bytes per second), FMA throughput in GFLOP/s (an FMA counts as 2 FLOPs). */
    public record Peaks(double bandwidthGBs, double fmaGflops, int threads, int vectorBits) {
        public String format() {
            return String.format(Locale.ROOT, "memory read %.1f GB/s, FMA %.1f GFLOP/s (%d threads, %d-bit vectors)",
                    bandwidthGBs, fmaGflops, threads, vectorBits);
        }
    }

    private MachinePeaks() {}

    /** Both measurements, each over at least {@code millisEach} ms (plus warm-up and the buffer's first touch). */
    public static Peaks measure(long bufferBytes, long millisEach) {
        return new Peaks(memoryBandwidthGBs(bufferBytes, millisEach), fmaGflops(millisEach),
                Parallel.parallelism(), F.vectorBitSize());
    }

    /**
     * {@code rate} as a percentage of {@code peak}, formatted ("73%"); a rate above the peak (or a peak that is not
     * a positive number) is not a figure but a measuring error, and the text says so.
     */
    public static String percentOf(double rate, double peak, String peakName) {
        if (!(peak > 0) || !Double.isFinite(peak) || !(rate >= 0) || !Double.isFinite(rate)) {
            return "n/a (no valid " + peakName + " reading)";
        }
        double pct = 100 * rate / peak;
        if (pct > 100) {
            return String.format(Locale.ROOT, "n/a: %.1f exceeds the measured %s of %.1f, so that reading is wrong"
                    + " (please report it)", rate, peakName, peak);
        }
        return String.format(Locale.ROOT, "%.0f%%", pct);
    }

    /** Compiles every kernel of this class before it is timed (once per JVM; see {@link #WARM_CALLS}). */
    static void warmUp() {
        synchronized (WARM_LOCK) {
            if (warm) {
                return;
            }
            try (Arena arena = Arena.ofConfined()) {
                long bytes = 16L * F.vectorByteSize();
                // a global view, as readAll reads through one
                MemorySegment small = MemorySegment.ofAddress(arena.allocate(bytes, 64).address()).reinterpret(bytes);
                float s = 0;
                for (int i = 0; i < WARM_CALLS; i++) {
                    s += readSlice(small, 0, bytes);
                    s += fmaChains(4, i);
                    s += fmaChains16(4, i);
                }
                sink = s;
            }
            warm = true;
        }
    }

    /** Multi-threaded streaming read of an off-heap buffer of the given size, best pass over ~millis (after warm-up). */
    public static double memoryBandwidthGBs(long bufferBytes, long millis) {
        warmUp();
        long bytes = Math.max(1 << 20, bufferBytes) & ~((long) F.vectorByteSize() * 64 - 1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(bytes, 4096);
            // Distinct values in every page rather than Arena.allocate's zeros: a host may merge pages of zeros
            // into one physical page, and reading that runs from cache.
            for (long o = 0; o < bytes; o += 8) {
                buf.set(ValueLayout.JAVA_LONG_UNALIGNED, o, o * 0x9E3779B97F4A7C15L);
            }
            int chunks = Parallel.parallelism() * 16;
            long chunkBytes = bytes / chunks;
            double best = 0;
            long deadline = System.nanoTime() + millis * 1_000_000L;
            for (int pass = 0; pass < MIN_PASSES || System.nanoTime() < deadline; pass++) {
                long t0 = System.nanoTime();
                readAll(buf, chunks, chunkBytes);
                best = Math.max(best, chunkBytes * chunks / ((System.nanoTime() - t0) / 1e9) / 1e9);
            }
            return best;
        }
    }

    private static final long SLICE = 1 << 16;

    private static float readSlice(MemorySegment seg, long from, long to) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long step = F.vectorByteSize();
        for (long o = from; o + 4 * step <= to; o += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, seg, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, seg, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, seg, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    private static void readAll(MemorySegment buf, int chunks, long chunkBytes) {
        // Confined arenas cannot be read from pool threads: use a global view of the same memory.
        MemorySegment shared = MemorySegment.ofAddress(buf.address()).reinterpret(buf.byteSize());
        float[] partial = new float[chunks];
        Parallel.forRange(chunks, 1, (start, end) -> {
            for (int c = start; c < end; c++) {
                long from = c * chunkBytes;
                long to = from + chunkBytes;
                float sum = 0;
                // Small slices per call: the work per call stays short, whatever the buffer size.
                for (long o = from; o < to; o += SLICE) {
                    sum += readSlice(shared, o, Math.min(to, o + SLICE));
                }
                partial[c] = sum;
            }
        });
        float s = 0;
        for (float p : partial) s += p;
        sink = s;
    }

    /** FMA throughput of all pool threads, best round over ~millis (after warm-up). */
    public static double fmaGflops(long millis) {
        warmUp();
        int threads = Parallel.parallelism();
        int iters = 1 << 15;
        double best = 0;
        long deadline = System.nanoTime() + millis * 1_000_000L;
        for (int pass = 0; pass < MIN_PASSES || System.nanoTime() < deadline; pass++) {
            long t0 = System.nanoTime();
            runFma(threads, iters, false);
            best = Math.max(best, 2.0 * F.length() * 12 * iters * threads / ((System.nanoTime() - t0) / 1e9) / 1e9);
            long t1 = System.nanoTime();
            runFma(threads, iters, true);
            best = Math.max(best, 2.0 * F.length() * 16 * iters * threads / ((System.nanoTime() - t1) / 1e9) / 1e9);
        }
        return best;
    }

    private static void runFma(int threads, int iters, boolean sixteen) {
        float[] out = new float[threads];
        Parallel.forRange(threads, 1, (start, end) -> {
            for (int t = start; t < end; t++) {
                float acc = 0;
                for (int i = 0; i < iters; i += 256) {
                    acc += sixteen ? fmaChains16(256, t) : fmaChains(256, t);
                }
                out[t] = acc;
            }
        });
        sink = out[0];
    }

    private static float fmaChains(int iters, int seed) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f);
        FloatVector c = FloatVector.broadcast(F, 1e-7f * (seed + 1));
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(c), a2 = a1.add(c), a3 = a2.add(c);
        FloatVector a4 = a3.add(c), a5 = a4.add(c), a6 = a5.add(c), a7 = a6.add(c);
        FloatVector a8 = a7.add(c), a9 = a8.add(c), a10 = a9.add(c), a11 = a10.add(c);
        for (int i = 0; i < iters; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    /**
     * The same with 16 chains: where FMA latency × issue width exceeds 12 (Zen 5 running 256-bit code), 12 chains
     * understate the peak; with only 16 vector registers (AVX2) the extra chains spill, so both are measured.
     */
    private static float fmaChains16(int iters, int seed) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f);
        FloatVector c = FloatVector.broadcast(F, 1e-7f * (seed + 1));
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(c), a2 = a1.add(c), a3 = a2.add(c);
        FloatVector a4 = a3.add(c), a5 = a4.add(c), a6 = a5.add(c), a7 = a6.add(c);
        FloatVector a8 = a7.add(c), a9 = a8.add(c), a10 = a9.add(c), a11 = a10.add(c);
        FloatVector a12 = a11.add(c), a13 = a12.add(c), a14 = a13.add(c), a15 = a14.add(c);
        for (int i = 0; i < iters; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
            a12 = a12.fma(m, c);
            a13 = a13.fma(m, c);
            a14 = a14.fma(m, c);
            a15 = a15.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .add(a12).add(a13).add(a14).add(a15).reduceLanes(VectorOperators.ADD);
    }
}
