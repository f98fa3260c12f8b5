package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator.FinishReason;
import dev.owl2j.runtime.generation.Sampler;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TextStream;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Continuous batching over one engine. Requests wait in a bounded queue; a single decode thread admits them
 * (image encoding and prefill; one per step while others are decoding, so their stall stays one prefill
 * long) as soon as the batch has a free slot, then advances every active sequence by
 * one token per {@link Engine#stepBatch} call, so a new request joins at the next step instead of waiting for
 * the others to finish. Each sequence samples with its own parameters and stops on EOS, a stop string, its
 * token limit, the context limit or cancellation (which frees its slot at the next step).
 *
 * <p>Only the decode thread touches the engine; other engine work (scoring) is queued as a task with
 * {@link #submitTask} and runs on that thread between steps.
 */
public final class Scheduler implements AutoCloseable {
    /**
     * One generation request: prompt ids (-200 per image), the preprocessed pixels of each image in
     * placeholder order, the sampling parameters and a fresh text stream for the reply.
     */
    public record Request(int[] ids, List<float[]> pixelValues, SamplingParams params, TextStream text) {
        public Request {
            ids = ids.clone();
            pixelValues = List.copyOf(pixelValues);
        }
    }

    /** Called on the decode thread; must be quick. An exception from it cancels the request. */
    public interface Listener {
        /** The prompt is in the cache (it holds {@code promptPositions} positions); generation starts. */
        default void onStart(int promptPositions) {}

        /** A generated token and the text it completed (id -1: held-back text flushed at the end). */
        default void onToken(int id, String textDelta) {}
    }

    /** The outcome of a request. Times are nanoseconds from submission. */
    public record Completion(int[] tokens, String text, FinishReason finishReason, int promptPositions,
                             long firstTokenNanos, long totalNanos) {}

    /** A submitted request: its result and a way to stop it. */
    public static final class Handle {
        private final CompletableFuture<Completion> result = new CompletableFuture<>();
        private volatile boolean cancelled;

        /** Stops the request at the next step (or before it starts); its slot is freed. Idempotent. */
        public void cancel() {
            cancelled = true;
        }

        public boolean isCancelled() {
            return cancelled;
        }

        /** Completes with the completion, or exceptionally with an Owl2jException (e.g. a bad image). */
        public CompletableFuture<Completion> result() {
            return result;
        }
    }

    private final Engine engine;
    private final int maxBatch;
    private final int queueCapacity;
    private final int eosId;
    private final ServerMetrics metrics;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workArrived = lock.newCondition();
    private final Condition stopped = lock.newCondition();
    private final ArrayDeque<Object> queue = new ArrayDeque<>(); // Sequence or Task, FIFO
    private final Thread thread;
    private boolean closing;
    private boolean drain;
    private boolean done;
    private volatile int active;

    public Scheduler(Engine engine, int maxBatch, int queueCapacity, int eosId, ServerMetrics metrics) {
        if (maxBatch < 1) throw new Owl2jException("--max-batch must be at least 1, got " + maxBatch);
        if (queueCapacity < 1) throw new Owl2jException("--queue must be at least 1, got " + queueCapacity);
        this.engine = engine;
        this.maxBatch = maxBatch;
        this.queueCapacity = queueCapacity;
        this.eosId = eosId;
        this.metrics = metrics == null ? new ServerMetrics() : metrics;
        this.thread = Thread.ofPlatform().name("owl2j-decode").daemon(true).unstarted(this::loop);
        thread.start();
    }

    public Engine engine() {
        return engine;
    }

    public ServerMetrics metrics() {
        return metrics;
    }

    public int maxBatch() {
        return maxBatch;
    }

    /** Requests and tasks waiting for the decode thread. */
    public int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** True once shutdown has begun (new work is refused). */
    public boolean isClosing() {
        lock.lock();
        try {
            return closing;
        } finally {
            lock.unlock();
        }
    }

    /** Sequences being decoded now. */
    public int activeCount() {
        return active;
    }

    /**
     * Queues a request. Throws {@link QueueFullException} when the queue is full and a
     * {@link ShuttingDownException} when the scheduler is shutting down; a request that shutdown cuts short
     * completes exceptionally with a ShuttingDownException.
     */
    public Handle submit(Request request, Listener listener) {
        Sequence seq = new Sequence(request, listener == null ? new Listener() {} : listener);
        enqueue(seq);
        return seq.handle;
    }

    /** Runs work that needs the engine on the decode thread, between steps; queued like a request. */
    public <T> CompletableFuture<T> submitTask(Function<Engine, T> work) {
        Task<T> task = new Task<>(work);
        enqueue(task);
        return task.future;
    }

    private void enqueue(Object item) {
        lock.lock();
        try {
            if (closing) {
                throw new ShuttingDownException();
            }
            if (queue.size() >= queueCapacity) {
                metrics.rejected();
                throw new QueueFullException(queueCapacity);
            }
            queue.addLast(item);
            metrics.queueDepth(queue.size());
            workArrived.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Stops accepting work, finishes what is queued and running, and waits for the decode thread. */
    @Override
    public void close() {
        shutdown(true, 60, TimeUnit.SECONDS);
    }

    /**
     * Stops accepting work. With {@code drain} queued and active requests run to their end; without, they
     * finish now as cancelled. Waits at most the timeout for the decode thread, then cancels what is left.
     */
    public void shutdown(boolean drain, long timeout, TimeUnit unit) {
        lock.lock();
        try {
            closing = true;
            this.drain = drain;
            workArrived.signalAll();
            long nanos = unit.toNanos(timeout);
            while (!done && nanos > 0) {
                nanos = stopped.awaitNanos(nanos);
            }
            if (!done) {
                this.drain = false; // give up waiting: cancel the rest at the next step
                workArrived.signalAll();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        List<Sequence> running = new ArrayList<>();
        try {
            while (true) {
                List<Object> admitted = new ArrayList<>();
                boolean stopNow;
                lock.lock();
                try {
                    while (queue.isEmpty() && running.isEmpty() && !closing) {
                        workArrived.await();
                    }
                    stopNow = closing && (!drain || (queue.isEmpty() && running.isEmpty()));
                    if (stopNow) {
                        admitted.addAll(queue);
                        queue.clear();
                    } else {
                        // A prefill stalls every running sequence. Waiting requests join in groups bounded by
                        // the free slots and a budget of prompt positions per step (as vLLM's batched-token
                        // limit): short prompts all join at once, so the batch fills quickly and every later step
                        // runs full; a long prompt (images) still stalls the others for at most one budget.
                        int slots = maxBatch - running.size();
                        int positions = 0;
                        while (!queue.isEmpty()) {
                            Object item = queue.peekFirst();
                            if (item instanceof Sequence seq) {
                                int need = seq.estimatedPositions();
                                if (slots <= 0 || (positions > 0 && positions + need > PREFILL_BUDGET)) break;
                                slots--;
                                positions += need;
                            }
                            admitted.add(queue.pollFirst());
                        }
                    }
                    metrics.queueDepth(queue.size());
                } finally {
                    lock.unlock();
                }
                if (stopNow) {
                    // Requests that shutdown cuts short fail (503), rather than completing as if they were done.
                    for (Object item : admitted) {
                        if (item instanceof Sequence s) s.fail(new ShuttingDownException());
                        else ((Task<?>) item).future.completeExceptionally(new ShuttingDownException());
                    }
                    for (Sequence s : running) s.fail(new ShuttingDownException());
                    running.clear();
                    return;
                }
                for (Object item : admitted) {
                    if (item instanceof Task<?> t) {
                        t.run(engine);
                    } else {
                        // counted as active while it prefills, so nobody sees a streaming request as idle
                        active = running.size() + 1;
                        if (((Sequence) item).admit()) {
                            running.add((Sequence) item);
                        }
                        active = running.size();
                    }
                }
                active = running.size();
                metrics.active(running.size());
                step(running);
                active = running.size();
                metrics.active(running.size());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            // A bug in the loop must not leave clients waiting forever.
            for (Sequence s : running) s.fail(new Owl2jException("internal error in the decode loop: " + t));
        } finally {
            lock.lock();
            try {
                done = true;
                closing = true;
                for (Object item : queue) {
                    if (item instanceof Sequence s) s.fail(new ShuttingDownException());
                    else ((Task<?>) item).future.completeExceptionally(new ShuttingDownException());
                }
                queue.clear();
                stopped.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** One batched decode step for every running sequence; finished ones leave the list. */
    private void step(List<Sequence> running) {
        running.removeIf(s -> {
            if (s.handle.cancelled) {
                s.finish(FinishReason.CANCELLED);
                return true;
            }
            return false;
        });
        if (running.isEmpty()) {
            return;
        }
        List<Engine.Session> sessions = new ArrayList<>(running.size());
        int[] tokens = new int[running.size()];
        for (int i = 0; i < tokens.length; i++) {
            sessions.add(running.get(i).session);
            tokens[i] = running.get(i).pending;
        }
        List<float[]> logits;
        try {
            long t0 = System.nanoTime();
            logits = engine.stepBatch(sessions, tokens);
            metrics.decodeStep(System.nanoTime() - t0, sessions.size());
        } catch (RuntimeException e) {
            Owl2jException err = e instanceof Owl2jException o ? o : new Owl2jException("decode step failed: " + e, e);
            for (Sequence s : running) s.fail(err);
            running.clear();
            return;
        } catch (OutOfMemoryError e) {
            // The failed allocation is a KV cache growing (or the step's activations); dropping these requests
            // frees their caches, and the server goes on with the next ones instead of dying.
            Owl2jException err = new ServerOutOfMemoryException("a decode step of " + running.size() + " requests");
            for (Sequence s : running) s.fail(err);
            running.clear();
            return;
        }
        Iterator<Sequence> it = running.iterator();
        int i = 0;
        while (it.hasNext()) {
            Sequence s = it.next();
            if (!s.accept(logits.get(i++))) {
                it.remove();
            }
        }
    }

    private static final class Task<T> {
        final Function<Engine, T> work;
        final CompletableFuture<T> future = new CompletableFuture<>();

        Task(Function<Engine, T> work) {
            this.work = work;
        }

        void run(Engine engine) {
            try {
                future.complete(work.apply(engine));
            } catch (RuntimeException e) {
                future.completeExceptionally(e);
            }
        }
    }

    /** The decode state of one request (decode thread only, apart from the handle). */
    /** Prompt positions admitted per step at most (one longer prompt is always admitted on its own). */
    static final int PREFILL_BUDGET = dev.owl2j.model.Settings.fromSystem().prefillBudget();

    private final class Sequence {
        final Request request;
        final Listener listener;
        final Handle handle = new Handle();
        final Sampler sampler;
        final long submitted = System.nanoTime();
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder out = new StringBuilder();
        final int maxStop;
        Engine.Session session;
        int promptPositions;
        long firstToken = -1;
        int pending;

        Sequence(Request request, Listener listener) {
            this.request = request;
            this.listener = listener;
            this.sampler = new Sampler(request.params());
            int m = 0;
            for (String s : request.params().stop()) m = Math.max(m, s.length());
            this.maxStop = m;
        }

        /** Decoder positions the prompt will take: text ids plus the visual tokens of each image. */
        int estimatedPositions() {
            int images = request.pixelValues() == null ? 0 : request.pixelValues().size();
            return request.ids().length - images + images * engine.config().tokensPerImage();
        }

        /** Encodes the images and prefills; true when the sequence joins the batch. */
        boolean admit() {
            if (handle.cancelled) {
                finish(FinishReason.CANCELLED);
                return false;
            }
            float[] logits;
            try {
                List<float[]> imageTokens = new ArrayList<>(request.pixelValues().size());
                for (float[] pixels : request.pixelValues()) {
                    imageTokens.add(engine.encodeImage(pixels));
                }
                session = engine.newSession();
                logits = session.prefill(request.ids(), imageTokens);
                promptPositions = session.position();
                metrics.promptTokens(promptPositions);
                listener.onStart(promptPositions);
            } catch (Owl2jException e) {
                fail(e);
                return false;
            } catch (RuntimeException e) {
                fail(new Owl2jException("prefill failed: " + e, e));
                return false;
            } catch (OutOfMemoryError e) {
                fail(new ServerOutOfMemoryException("the prompt of " + request.ids().length + " tokens"));
                return false;
            }
            return accept(logits);
        }

        /** Samples from the logits and emits; true while the sequence needs another step. */
        boolean accept(float[] logits) {
            if (handle.cancelled) {
                finish(FinishReason.CANCELLED);
                return false;
            }
            int id;
            try {
                id = sampler.next(logits);
            } catch (Owl2jException e) {
                fail(e); // invalid logits: the request fails with the reason instead of an arbitrary token
                return false;
            }
            try {
                SamplingParams params = request.params();
                if (firstToken < 0) {
                    firstToken = System.nanoTime() - submitted;
                }
                if (id == eosId) {
                    finish(FinishReason.STOP);
                    return false;
                }
                tokens.add(id);
                metrics.generatedTokens(1);
                String delta = request.text().push(id);
                int before = out.length();
                out.append(delta);
                int stopAt = findStop(out, params.stop(), Math.max(0, before - maxStop));
                if (stopAt >= 0) {
                    String emitted = out.substring(before, Math.max(before, stopAt));
                    out.setLength(stopAt);
                    listener.onToken(id, emitted);
                    complete(FinishReason.STOP);
                    return false;
                }
                listener.onToken(id, delta);
                if (tokens.size() >= params.maxNewTokens() || session.position() >= session.capacity()) {
                    finish(FinishReason.LENGTH);
                    return false;
                }
                pending = id;
                return true;
            } catch (RuntimeException e) {
                // The listener failed (client gone): stop this request only.
                handle.cancelled = true;
                finish(FinishReason.CANCELLED);
                return false;
            }
        }

        /** Flushes held-back text and completes. */
        void finish(FinishReason reason) {
            if (handle.result.isDone()) return;
            if (reason != FinishReason.CANCELLED) {
                try {
                    String tail = request.text().flush();
                    if (!tail.isEmpty()) {
                        out.append(tail);
                        listener.onToken(-1, tail);
                    }
                } catch (RuntimeException e) {
                    reason = FinishReason.CANCELLED;
                }
            }
            complete(reason);
        }

        void complete(FinishReason reason) {
            closeSession();
            int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
            long total = System.nanoTime() - submitted;
            metrics.finished(reason, firstToken, total);
            handle.result.complete(new Completion(ids, out.toString(), reason, promptPositions, firstToken, total));
        }

        void fail(Owl2jException e) {
            closeSession();
            metrics.failed();
            handle.result.completeExceptionally(e);
        }

        private void closeSession() {
            if (session != null) {
                session.close();
                session = null;
            }
        }
    }

    private static int findStop(StringBuilder text, List<String> stops, int from) {
        int best = -1;
        for (String s : stops) {
            if (s.isEmpty()) continue;
            int i = text.indexOf(s, from);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }
}
