package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.Generator.FinishReason;
import dev.owl2j.runtime.generation.SamplingParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Continuous batching on the tiny fixture: batched results equal the plain generation loop token for token
 * (greedy and seeded sampling), requests join a running batch, a full queue rejects, cancelling frees the
 * slot, shutdown drains. Waits use latches and futures, never sleeps.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SchedulerTest {
    static final int NO_EOS = -1; // the goldens are 8 greedy tokens without an EOS stop

    static Generator.Result direct(String prompt, SamplingParams params) {
        Engine engine = TinyFixture.engine();
        List<float[]> imageTokens = new ArrayList<>();
        for (float[] px : TinyFixture.images(prompt)) imageTokens.add(engine.encodeImage(px));
        Engine.Session s = engine.newSession();
        float[] logits = s.prefill(TinyFixture.ids(prompt), imageTokens);
        return Generator.generate(s, logits, params, NO_EOS, TinyFixture.idText(), null, null);
    }

    static Scheduler.Request request(String prompt, SamplingParams params) {
        return new Scheduler.Request(TinyFixture.ids(prompt), TinyFixture.images(prompt), params, TinyFixture.idText());
    }

    static Scheduler.Completion await(Scheduler.Handle h) throws Exception {
        return h.result().get(60, TimeUnit.SECONDS);
    }

    @Test
    void concurrentRequestsEqualSequentialRunsTokenForToken() throws Exception {
        String[] prompts = {"prompt0", "prompt1", "prompt2", "prompt1"};
        SamplingParams[] params = {
                SamplingParams.greedy(8), SamplingParams.greedy(8), SamplingParams.greedy(8),
                new SamplingParams(0.8, 40, 0.9, 1234L, 10, List.of())};
        try (Scheduler scheduler = new Scheduler(TinyFixture.engine(), 4, 16, NO_EOS, null)) {
            // Submitted from four threads at once.
            List<CompletableFuture<Scheduler.Handle>> submitted = new ArrayList<>();
            CountDownLatch go = new CountDownLatch(1);
            for (int i = 0; i < prompts.length; i++) {
                int k = i;
                submitted.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                    return scheduler.submit(request(prompts[k], params[k]), null);
                }));
            }
            go.countDown();
            for (int i = 0; i < prompts.length; i++) {
                Scheduler.Completion c = await(submitted.get(i).get(60, TimeUnit.SECONDS));
                Generator.Result expected = direct(prompts[i], params[i]);
                assertArrayEquals(expected.tokens(), c.tokens(), prompts[i] + " #" + i + " tokens");
                assertEquals(expected.text(), c.text());
                assertEquals(FinishReason.LENGTH, c.finishReason());
                if (params[i].isGreedy()) {
                    assertArrayEquals(TinyFixture.goldenGreedy(prompts[i]), c.tokens(), prompts[i] + " vs golden");
                }
            }
        }
    }

    @Test
    void aRequestJoiningARunningBatchGetsTheSameTokens() throws Exception {
        try (Scheduler scheduler = new Scheduler(TinyFixture.engine(), 4, 16, NO_EOS, null)) {
            CountDownLatch firstTokens = new CountDownLatch(3);
            Scheduler.Handle a = scheduler.submit(request("prompt2", SamplingParams.greedy(8)), new Scheduler.Listener() {
                @Override
                public void onToken(int id, String textDelta) {
                    firstTokens.countDown();
                }
            });
            assertTrue(firstTokens.await(60, TimeUnit.SECONDS));
            Scheduler.Handle b = scheduler.submit(request("prompt0", SamplingParams.greedy(8)), null);
            assertArrayEquals(TinyFixture.goldenGreedy("prompt2"), await(a).tokens());
            assertArrayEquals(TinyFixture.goldenGreedy("prompt0"), await(b).tokens());
        }
    }

    @Test
    void stopStringsEndTheReplyAndAreCut() throws Exception {
        int[] golden = TinyFixture.goldenGreedy("prompt1"); // 525, 14174, 14174, ...
        try (Scheduler scheduler = new Scheduler(TinyFixture.engine(), 2, 4, NO_EOS, null)) {
            SamplingParams p = new SamplingParams(0, 0, 1, 0L, 8, List.of("[" + golden[2] + "]"));
            Scheduler.Completion c = await(scheduler.submit(request("prompt1", p), null));
            // The stop string first appears with token 1 (14174), so the reply stops there and excludes it.
            assertEquals("[" + golden[0] + "]", c.text());
            assertEquals(FinishReason.STOP, c.finishReason());
            // EOS: with eos = the second golden token, generation ends before it.
            try (Scheduler eos = new Scheduler(TinyFixture.engine(), 2, 4, golden[1], null)) {
                Scheduler.Completion e = await(eos.submit(request("prompt1", SamplingParams.greedy(8)), null));
                assertArrayEquals(new int[]{golden[0]}, e.tokens());
                assertEquals(FinishReason.STOP, e.finishReason());
            }
        }
    }

    @Test
    void aFullQueueRejectsAndCancellingFreesTheSlot() throws Exception {
        try (Scheduler scheduler = new Scheduler(TinyFixture.engine(), 1, 2, NO_EOS, null)) {
            // Hold the decode thread inside a task so the queue state is deterministic.
            CountDownLatch inTask = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Object> blocker = scheduler.submitTask(e -> {
                inTask.countDown();
                try {
                    release.await();
                } catch (InterruptedException ex) {
                    throw new RuntimeException(ex);
                }
                return null;
            });
            assertTrue(inTask.await(60, TimeUnit.SECONDS));
            CountDownLatch longStarted = new CountDownLatch(1);
            Scheduler.Handle longOne = scheduler.submit(request("prompt1", SamplingParams.greedy(1000)), new Scheduler.Listener() {
                @Override
                public void onToken(int id, String textDelta) {
                    longStarted.countDown();
                }
            });
            Scheduler.Handle waiting = scheduler.submit(request("prompt0", SamplingParams.greedy(8)), null);
            assertEquals(2, scheduler.queueDepth());
            QueueFullException full = assertThrows(QueueFullException.class,
                    () -> scheduler.submit(request("prompt1", SamplingParams.greedy(8)), null));
            assertTrue(full.getMessage().contains("queue is full"), full.getMessage());
            release.countDown();
            blocker.get(60, TimeUnit.SECONDS);

            // The batch holds one sequence: the waiting request starts only once the long one is cancelled.
            assertTrue(longStarted.await(60, TimeUnit.SECONDS));
            assertEquals(1, scheduler.activeCount());
            assertTrue(!waiting.result().isDone());
            longOne.cancel();
            Scheduler.Completion cancelled = await(longOne);
            assertEquals(FinishReason.CANCELLED, cancelled.finishReason());
            assertTrue(cancelled.tokens().length < 1000);
            assertArrayEquals(TinyFixture.goldenGreedy("prompt0"), await(waiting).tokens());
        }
    }

    @Test
    void waitingShortPromptsJoinARunningBatchTogether() throws Exception {
        try (Scheduler scheduler = new Scheduler(TinyFixture.engine(), 4, 16, NO_EOS, null)) {
            CountDownLatch inTask = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            // A decodes; at its first token the decode thread is held in a task while B, C and D queue up.
            Scheduler.Handle a = scheduler.submit(request("prompt1", SamplingParams.greedy(24)), new Scheduler.Listener() {
                boolean first = true;

                @Override
                public void onToken(int id, String textDelta) {
                    if (first) {
                        first = false;
                        scheduler.submitTask(e -> {
                            inTask.countDown();
                            try {
                                release.await();
                            } catch (InterruptedException ex) {
                                throw new RuntimeException(ex);
                            }
                            return null;
                        });
                    }
                }
            });
            assertTrue(inTask.await(60, TimeUnit.SECONDS));
            long[] stepAtFirstToken = new long[3];
            List<Scheduler.Handle> handles = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int k = i;
                handles.add(scheduler.submit(request("prompt1", SamplingParams.greedy(8)), new Scheduler.Listener() {
                    boolean first = true;

                    @Override
                    public void onToken(int id, String textDelta) {
                        if (first) {
                            first = false;
                            stepAtFirstToken[k] = scheduler.metrics().decodeStepTotals()[2];
                        }
                    }
                }));
            }
            release.countDown();
            for (Scheduler.Handle h : handles) assertArrayEquals(TinyFixture.goldenGreedy("prompt1"), await(h).tokens());
            assertEquals(24, await(a).tokens().length);
            // 16-position prompts, far below the prefill budget: all three were prefilled before the next step
            assertEquals(stepAtFirstToken[0], stepAtFirstToken[1]);
            assertEquals(stepAtFirstToken[0], stepAtFirstToken[2]);
        }
    }

    @Test
    void shutdownDrainsThenRefuses() throws Exception {
        Scheduler scheduler = new Scheduler(TinyFixture.engine(), 2, 4, NO_EOS, null);
        Scheduler.Handle h = scheduler.submit(request("prompt1", SamplingParams.greedy(8)), null);
        scheduler.close();
        assertArrayEquals(TinyFixture.goldenGreedy("prompt1"), await(h).tokens());
        Owl2jException e = assertThrows(Owl2jException.class, () -> scheduler.submit(request("prompt1", SamplingParams.greedy(8)), null));
        assertTrue(e.getMessage().contains("shutting down"));
        assertTrue(scheduler.metrics().render().contains("owl2j_generated_tokens_total 8"));
    }

    @Test
    void aBadPromptFailsOnlyItsOwnRequest() throws Exception {
        try (Scheduler scheduler = new Scheduler(TinyFixture.engine(), 2, 4, NO_EOS, null)) {
            // One image placeholder but no image.
            Scheduler.Handle bad = scheduler.submit(new Scheduler.Request(TinyFixture.ids("prompt0"), List.of(),
                    SamplingParams.greedy(8), TinyFixture.idText()), null);
            Scheduler.Handle good = scheduler.submit(request("prompt1", SamplingParams.greedy(8)), null);
            var err = assertThrows(java.util.concurrent.ExecutionException.class, () -> bad.result().get(60, TimeUnit.SECONDS));
            assertTrue(err.getCause() instanceof Owl2jException, String.valueOf(err.getCause()));
            assertArrayEquals(TinyFixture.goldenGreedy("prompt1"), await(good).tokens());
        }
    }

    @Test
    void runningOutOfHeapFailsTheStepsRequestsAndTheServerGoesOn() throws Exception {
        Engine real = TinyFixture.engine();
        java.util.concurrent.atomic.AtomicInteger failNext = new java.util.concurrent.atomic.AtomicInteger(1);
        // the real engine, except that its first batched step runs out of heap
        Engine engine = new Engine() {
            public String description() {
                return real.description();
            }

            public dev.owl2j.model.config.Owl2Config config() {
                return real.config();
            }

            public float[] encodeImage(float[] pixelValues) {
                return real.encodeImage(pixelValues);
            }

            public Session newSession() {
                return real.newSession();
            }

            public List<float[]> stepBatch(List<Session> sessions, int[] tokens) {
                if (failNext.getAndDecrement() > 0) {
                    throw new OutOfMemoryError("Java heap space");
                }
                return real.stepBatch(sessions, tokens);
            }

            public void close() {}
        };
        try (Scheduler scheduler = new Scheduler(engine, 2, 4, NO_EOS, null)) {
            Scheduler.Handle first = scheduler.submit(request("prompt0", SamplingParams.greedy(8)), null);
            var err = assertThrows(java.util.concurrent.ExecutionException.class, () -> first.result().get(60, TimeUnit.SECONDS));
            assertTrue(err.getCause() instanceof ServerOutOfMemoryException, String.valueOf(err.getCause()));
            assertTrue(err.getCause().getMessage().startsWith("out of memory during a decode step of 1 requests"),
                    err.getCause().getMessage());
            assertTrue(err.getCause().getMessage().contains("OWL2J_HEAP"), err.getCause().getMessage());
            // the decode loop is still alive: the next request gets the golden tokens
            Scheduler.Handle second = scheduler.submit(request("prompt1", SamplingParams.greedy(8)), null);
            assertArrayEquals(TinyFixture.goldenGreedy("prompt1"), await(second).tokens());
        }
    }

    @Test
    void imagesReachThePrefillAsTheEngineEncodedThemAndAreFreedAfterwards() throws Exception {
        Engine real = TinyFixture.engine();
        java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger encoded = new java.util.concurrent.atomic.AtomicInteger();
        // The real engine, except that a host copy of the visual tokens (encodeImage) is refused: the scheduler must
        // hand the prefill what encode returned (on a device engine, tokens in device memory), then close it.
        Engine engine = new Engine() {
            public String description() {
                return real.description();
            }

            public dev.owl2j.model.config.Owl2Config config() {
                return real.config();
            }

            public float[] encodeImage(float[] pixelValues) {
                throw new IllegalStateException("the visual tokens went through the host");
            }

            public dev.owl2j.runtime.engine.VisualTokens encode(float[] pixelValues) {
                float[] host = real.encodeImage(pixelValues);
                encoded.incrementAndGet();
                open.incrementAndGet();
                return new dev.owl2j.runtime.engine.VisualTokens() {
                    boolean closed;

                    public int floats() {
                        return host.length;
                    }

                    public float[] toHost() {
                        if (closed) throw new AssertionError("read after close");
                        return host;
                    }

                    public void close() {
                        if (!closed) open.decrementAndGet();
                        closed = true;
                    }
                };
            }

            public Session newSession() {
                return real.newSession();
            }

            public void close() {}
        };
        try (Scheduler scheduler = new Scheduler(engine, 2, 4, NO_EOS, null)) {
            for (String prompt : new String[]{"prompt0", "prompt2"}) {
                Scheduler.Handle h = scheduler.submit(request(prompt, SamplingParams.greedy(8)), null);
                assertArrayEquals(TinyFixture.goldenGreedy(prompt), await(h).tokens(), prompt);
            }
            // two choices from one prefill: the second forks the first's cache after the images were spliced in
            List<Scheduler.Handle> two = scheduler.submitChoices(new Scheduler.Request(TinyFixture.ids("prompt0"),
                    TinyFixture.images("prompt0"), SamplingParams.greedy(8), TinyFixture::idText, 2, -1), i -> null);
            for (Scheduler.Handle h : two) assertArrayEquals(TinyFixture.goldenGreedy("prompt0"), await(h).tokens(), "n=2");
        }
        assertTrue(encoded.get() > 0, "no image was encoded");
        assertEquals(0, open.get(), "visual tokens left open");
    }
}
