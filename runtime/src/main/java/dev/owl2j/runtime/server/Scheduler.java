package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator.FinishReason;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.generation.TextStream;
import dev.owl2j.runtime.generation.TokenLogprob;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Supplier;

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
     * One generation request: prompt ids (-200 per image), the preprocessed pixels of each image in placeholder
     * order, the sampling parameters, a fresh text stream per choice (called once for each), how many choices
     * to draw from the one prefill, and how many top alternatives to report with each token's log-probability
     * (-1: no log-probabilities).
     */
    public record Request(int[] ids, List<float[]> pixelValues, SamplingParams params, Supplier<TextStream> texts,
                          int choices, int logprobs) {
        public Request {
            ids = ids.clone();
            pixelValues = List.copyOf(pixelValues);
            if (choices < 1) throw new Owl2jException("choices must be at least 1, got " + choices);
        }

        /** One choice, no log-probabilities. */
        public Request(int[] ids, List<float[]> pixelValues, SamplingParams params, TextStream text) {
            this(ids, pixelValues, params, once(text), 1, -1);
        }

        private static Supplier<TextStream> once(TextStream text) {
            boolean[] used = {false};
            return () -> {
                if (used[0]) throw new IllegalStateException("one text stream for one choice");
                used[0] = true;
                return text;
            };
        }
    }

    /** Called on the decode thread; must be quick. An exception from it cancels the request. */
    public interface Listener {
        /** The prompt is in the cache (it holds {@code promptPositions} positions); generation starts. */
        default void onStart(int promptPositions) {}

        /** A generated token and the text it completed (id -1: held-back text flushed at the end). */
        default void onToken(int id, String textDelta) {}

        /** As above, with the token's log-probability when the request asked for them (else, and for id -1, null). */
        default void onToken(int id, String textDelta, TokenLogprob logprob) {
            onToken(id, textDelta);
        }
    }

    /**
     * The outcome of a request (of one choice). Times are nanoseconds from submission; {@code logprobs}: one per
     * token when asked for, else null.
     */
    public record Completion(int[] tokens, String text, FinishReason finishReason, int promptPositions,
                             long firstTokenNanos, long totalNanos, List<TokenLogprob> logprobs) {}

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
        if (request.choices() != 1) throw new IllegalArgumentException("use submitChoices for several choices");
        return submitChoices(request, i -> listener).getFirst();
    }

    /**
     * Queues a request for {@code request.choices()} choices from one prefill; {@code listeners} gives the
     * listener of each choice (null: none). One handle per choice; cancelling all of them frees every slot.
     */
    public List<Handle> submitChoices(Request request, IntFunction<Listener> listeners) {
        if (request.choices() > maxBatch) {
            throw new Owl2jException(request.choices() + " choices do not fit a batch of " + maxBatch);
        }
        long now = System.nanoTime();
        List<Sequence> choices = new ArrayList<>();
        for (int i = 0; i < request.choices(); i++) {
            Listener l = listeners.apply(i);
            choices.add(new Sequence(request.ids(), request.params().forChoice(i), request.texts().get(),
                    l == null ? new Listener() {} : l, request.logprobs(), eosId, metrics, now));
        }
        enqueue(new ChoiceGroup(request, choices));
        List<Handle> handles = new ArrayList<>();
        for (Sequence s : choices) handles.add(s.handle);
        return handles;
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
                            if (item instanceof ChoiceGroup g) {
                                int need = g.estimatedPositions(engine.config().tokensPerImage());
                                if (slots < g.choices.size() || (positions > 0 && positions + need > PREFILL_BUDGET)) break;
                                slots -= g.choices.size();
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
                        if (item instanceof ChoiceGroup g) for (Sequence s : g.choices) s.fail(new ShuttingDownException());
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
                        ChoiceGroup g = (ChoiceGroup) item;
                        active = running.size() + g.choices.size();
                        running.addAll(g.admit(engine, metrics));
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
                    if (item instanceof ChoiceGroup g) for (Sequence s : g.choices) s.fail(new ShuttingDownException());
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
            if (s.handle.isCancelled()) {
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

    /** Prompt positions admitted per step at most (one longer prompt is always admitted on its own). */
    static final int PREFILL_BUDGET = dev.owl2j.model.Settings.fromSystem().prefillBudget();
}
