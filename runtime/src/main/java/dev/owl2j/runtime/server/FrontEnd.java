package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded pool for a request's CPU-heavy preparation: parsing its JSON, decoding and preprocessing its images,
 * tokenizing its prompt. HTTP handlers run on virtual threads, which share the few carrier threads: CPU-bound work
 * there would starve every other handler, /health included. Here it runs on a fixed number of platform threads
 * behind a bounded queue; when the queue is full the request gets 429 at once instead of piling up.
 */
final class FrontEnd implements AutoCloseable {
    private final ThreadPoolExecutor pool;
    private final ServerMetrics metrics;

    FrontEnd(int threads, int queue, ServerMetrics metrics) {
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(queue),
                r -> Thread.ofPlatform().name("owl2j-frontend-" + n.incrementAndGet()).daemon(true).unstarted(r),
                new ThreadPoolExecutor.AbortPolicy());
        this.metrics = metrics;
    }

    /** Runs {@code work} on the pool and waits for it; its ApiException or Owl2jException reaches the caller as is. */
    <T> T run(Callable<T> work) {
        Future<T> f;
        try {
            f = pool.submit(work);
        } catch (RejectedExecutionException e) {
            metrics.rejected();
            throw new ApiException(429, "server_busy", "queue_full", pool.isShutdown() ? "the server is shutting down"
                    : "the server is busy preparing other requests (" + pool.getQueue().size() + " waiting); retry later");
        }
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r && (r instanceof ApiException || r instanceof Owl2jException)) throw r;
            if (c instanceof OutOfMemoryError) {
                throw new ApiException(503, "server_error", "out_of_memory", "out of memory while preparing the request");
            }
            throw new ApiException(500, "server_error", null, "internal error while preparing the request: " + c.getClass().getSimpleName());
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "interrupted");
        }
    }

    /** Preparations running or waiting. */
    int pending() {
        return pool.getActiveCount() + pool.getQueue().size();
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
