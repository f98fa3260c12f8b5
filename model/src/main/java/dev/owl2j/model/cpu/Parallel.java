package dev.owl2j.model.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * Splits index ranges over one shared ForkJoinPool sized to the machine. The forward pass parallelises at a
 * single level (matrix rows, attention heads); a call made from inside a pool worker runs its chunks in the
 * same pool with work stealing, so accidental nesting does not deadlock.
 */
public final class Parallel {
    /** Threads: system property {@code owl2j.threads} (read once, when the pool starts), else all processors. */
    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1,
            Integer.getInteger("owl2j.threads", Runtime.getRuntime().availableProcessors())));

    /** Body over the half-open index range [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    private Parallel() {}

    public static int parallelism() {
        return POOL.getParallelism();
    }

    /**
     * Runs body over [0, n) in contiguous chunks of at least {@code minChunk} indices, concurrently where that
     * is worth it. Chunks never overlap, so bodies may write disjoint slices of shared arrays.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int maxChunks = Math.max(1, n / Math.max(1, minChunk));
        int chunks = Math.min(maxChunks, POOL.getParallelism() * 4);
        if (chunks <= 1 || POOL.getParallelism() == 1) {
            body.run(0, n);
            return;
        }
        List<ForkJoinTask<?>> tasks = new ArrayList<>(chunks);
        for (int c = 0; c < chunks; c++) {
            int start = (int) ((long) n * c / chunks);
            int end = (int) ((long) n * (c + 1) / chunks);
            tasks.add(ForkJoinTask.adapt(() -> body.run(start, end)));
        }
        if (ForkJoinTask.inForkJoinPool() && ForkJoinTask.getPool() == POOL) {
            ForkJoinTask.invokeAll(tasks);
        } else {
            POOL.invoke(new RecursiveAction() {
                @Override
                protected void compute() {
                    invokeAll(tasks);
                }
            });
        }
    }
}
