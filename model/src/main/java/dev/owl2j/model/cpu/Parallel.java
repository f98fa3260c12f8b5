package dev.owl2j.model.cpu;

import dev.owl2j.model.Settings;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits index ranges over the calling thread plus one shared ForkJoinPool, {@link #parallelism()} threads in
 * all. The forward pass parallelises at a single level (matrix rows, attention heads) and calls this hundreds of
 * times per decoded token, so the caller does not hand everything to the pool and sleep: it starts on the chunks
 * at once while the pool's workers wake up, and every thread claims the next chunk from a shared counter, so a
 * worker that wakes late simply finds less left to do. Chunks shrink as the range is used up (each claims a
 * {@code 1 / (2·threads)} share of what is left, never less than the caller's minimum), so the threads finish
 * close together: with equal chunks the caller waited for the last one about a fifth of a chunk on average
 * (docs/performance-log.md, Decode threads). A call made from inside a pool worker runs its chunks in the same
 * pool with work stealing, so accidental nesting does not deadlock.
 */
public final class Parallel {
    /** Threads in all, the caller included, and the pool of the other threads − 1 (null when there are none). */
    private record Pool(int threads, ForkJoinPool workers) {}

    /** Started by {@link #start} (the engine, with the settings' thread count) or on first use. */
    private static volatile Pool pool;

    /** Body over the half-open index range [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    private Parallel() {}

    /**
     * Starts the pool with {@code threads} threads in all (the caller included) unless it runs already, and returns
     * the count it runs with: the pool is process-wide and lives as long as the process.
     */
    public static synchronized int start(int threads) {
        if (pool == null) {
            int t = Math.max(1, threads);
            pool = new Pool(t, t > 1 ? new ForkJoinPool(t - 1) : null);
        }
        return pool.threads();
    }

    private static Pool pool() {
        Pool p = pool;
        if (p == null) {
            start(Settings.fromSystem().threads());
            p = pool;
        }
        return p;
    }

    /** Threads that run a {@link #forRange} at once, the caller included. */
    public static int parallelism() {
        return pool().threads();
    }

    /**
     * Runs body over [0, n) in contiguous chunks of at least {@code minChunk} indices, concurrently where that
     * is worth it. Chunks never overlap, so bodies may write disjoint slices of shared arrays. An exception
     * thrown by the body is rethrown here once every chunk has finished.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) {
            return;
        }
        Pool p = pool();
        ForkJoinPool workers = p.workers();
        int min = Math.max(1, minChunk);
        int maxChunks = Math.max(1, n / min);
        if (maxChunks <= 1 || workers == null) {
            body.run(0, n);
            return;
        }
        if (ForkJoinTask.inForkJoinPool() && ForkJoinTask.getPool() == workers) {
            int chunks = Math.min(maxChunks, p.threads() * 4);
            List<ForkJoinTask<?>> tasks = new ArrayList<>(chunks);
            for (int c = 0; c < chunks; c++) {
                int start = chunkStart(n, chunks, c);
                int end = chunkStart(n, chunks, c + 1);
                tasks.add(ForkJoinTask.adapt(() -> body.run(start, end)));
            }
            ForkJoinTask.invokeAll(tasks);
            return;
        }
        Range range = new Range(n, min, 2 * p.threads(), body);
        for (int h = Math.min(maxChunks, p.threads()) - 1; h > 0; h--) {
            workers.execute(range::drain);
        }
        range.drain();
        range.await();
    }

    private static int chunkStart(int n, int chunks, int c) {
        return (int) ((long) n * c / chunks);
    }

    /** One forRange call's chunks: claimed from a shared start index, shrinking as the range is used up. */
    private static final class Range {
        private final int n;
        private final int min;
        private final int share;
        private final RangeBody body;
        private final Thread caller = Thread.currentThread();
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private volatile Throwable failure;

        /** Chunks of max(min, left / share) indices; a rest shorter than min joins the chunk before it. */
        Range(int n, int min, int share, RangeBody body) {
            this.n = n;
            this.min = min;
            this.share = share;
            this.body = body;
        }

        /** The end of the chunk that starts at start (a pure function of start, so a claim is one CAS). */
        private int chunkEnd(int start) {
            int left = n - start;
            int size = Math.max(min, (left + share - 1) / share);
            return left - size < min ? n : start + size;
        }

        void drain() {
            for (int start; (start = next.get()) < n; ) {
                int end = chunkEnd(start);
                if (!next.compareAndSet(start, end)) {
                    continue;
                }
                try {
                    body.run(start, end);
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    }
                } finally {
                    if (finished.addAndGet(end - start) == n) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }

        /** Waits for the chunks other threads still run: a short spin (they are usually about to finish), then park. */
        void await() {
            for (int spins = 0; finished.get() < n; spins++) {
                if (spins < 2000) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 100_000);
                }
            }
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }
}
