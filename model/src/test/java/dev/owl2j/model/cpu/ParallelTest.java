package dev.owl2j.model.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parallel.forRange: every index exactly once (also for calls in a row, concurrent and nested callers), chunks that
 * shrink towards the end and keep the minimum, failures rethrown.
 */
class ParallelTest {
    @Test
    void coversEveryIndexOnce() {
        for (int n : new int[]{1, 2, 3, 7, 8, 9, 100, 1001}) {
            for (int minChunk : new int[]{1, 3, 64}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                Parallel.forRange(n, minChunk, (s, e) -> {
                    for (int i = s; i < e; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) {
                    assertEquals(1, hits.get(i), "n=" + n + " minChunk=" + minChunk + " index " + i);
                }
            }
        }
    }

    /** Calls back to back, as a decode step makes them: pool workers still lingering after one take the next. */
    @Test
    void callsInARowEachCoverEveryIndexOnce() {
        for (int call = 0; call < 3000; call++) {
            int n = 1 + call % 97;
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            Parallel.forRange(n, 1, (s, e) -> {
                for (int i = s; i < e; i++) hits.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) {
                assertEquals(1, hits.get(i), "call " + call + " index " + i);
            }
        }
    }

    @Test
    void concurrentAndNestedCallers() throws Exception {
        int n = 517;
        ExecutorService callers = Executors.newFixedThreadPool(3);
        try {
            Future<?>[] done = new Future<?>[6];
            AtomicIntegerArray[] hits = new AtomicIntegerArray[done.length];
            for (int c = 0; c < done.length; c++) {
                AtomicIntegerArray h = hits[c] = new AtomicIntegerArray(n * 4);
                done[c] = callers.submit(() -> Parallel.forRange(n, 1, (s, e) -> {
                    for (int i = s; i < e; i++) {
                        int outer = i;
                        // a nested call from inside a chunk (it may run on a pool worker)
                        Parallel.forRange(4, 1, (s2, e2) -> {
                            for (int j = s2; j < e2; j++) h.incrementAndGet(outer * 4 + j);
                        });
                    }
                }));
            }
            for (Future<?> f : done) f.get();
            for (AtomicIntegerArray h : hits) {
                for (int i = 0; i < h.length(); i++) assertEquals(1, h.get(i), "index " + i);
            }
        } finally {
            callers.shutdownNow();
        }
    }

    /**
     * Chunks are contiguous, at least minChunk long, and shrink towards the end of the range: the first takes
     * 1 / (2·threads) of it, the last (the threads' finishing line) is shorter than the first.
     */
    @Test
    void chunksShrinkAndKeepTheMinimum() {
        int threads = Parallel.parallelism();
        org.junit.jupiter.api.Assumptions.assumeTrue(threads > 1, "one thread runs the range as one chunk");
        for (int minChunk : new int[]{1, 5, 40}) {
            int n = 10_000;
            java.util.concurrent.ConcurrentSkipListMap<Integer, Integer> chunks = new java.util.concurrent.ConcurrentSkipListMap<>();
            Parallel.forRange(n, minChunk, (s, e) -> chunks.put(s, e));
            int at = 0;
            for (var c : chunks.entrySet()) {
                assertEquals(at, (int) c.getKey(), "chunks are contiguous");
                assertTrue(c.getValue() - c.getKey() >= minChunk, "chunk " + c + " shorter than " + minChunk);
                at = c.getValue();
            }
            assertEquals(n, at);
            int first = chunks.firstEntry().getValue();
            assertEquals((n + 2 * threads - 1) / (2 * threads), first, "the first chunk's share");
            var last = chunks.lastEntry();
            assertTrue(last.getValue() - last.getKey() < first, "the last chunk " + last + " is shorter than the first");
        }
    }

    @Test
    void rethrowsTheBodysException() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Parallel.forRange(64, 1, (s, e2) -> {
            if (s == 0) throw new IllegalArgumentException("chunk at 0 failed");
        }));
        assertEquals("chunk at 0 failed", e.getMessage());
    }
}
