package dev.owl2j.model.cpu;

import dev.owl2j.model.NumericAssert;
import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decoding with the KV cache equals recomputing the whole sequence from scratch (tolerance 1e-4 on every
 * logit), also when a further prompt chunk with images is appended to a cache (multi-turn chat), and a prefill run
 * in chunks equals one pass.
 */
class KVCacheTest {
    static final double LOGIT_TOLERANCE = 1e-4;

    static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"prompt1", "prompt2"})
    void everyCachedStepEqualsAFreshFullPrefill(String prompt) {
        Owl2Model model = Fixture.model();
        int[] ids = Fixture.promptIds(prompt);
        List<float[]> images = Owl2ModelTest.imagesOf(prompt);
        Session cached = model.newSession();
        float[] logits = cached.prefill(ids, images);
        int[] generated = new int[0];
        for (int k = 1; k <= 4; k++) {
            int next = Owl2ModelTest.argmax(logits);
            generated = concat(generated, new int[]{next});
            logits = cached.step(next);
            float[] full = model.newSession().prefill(concat(ids, generated), images);
            NumericAssert.assertAllClose(prompt + " cached step " + k + " vs full recompute", full, logits, LOGIT_TOLERANCE);
        }
        assertEquals(model.splice(ids, images).length() + 4, cached.position());
    }

    /** Turn 1 with image0, two generated tokens, then turn 2 with text and image1 appended to the same cache. */
    @Test
    void aSecondPrefillChunkWithAnImageContinuesTheConversation() {
        Owl2Model model = Fixture.model();
        float[] image0 = model.encodeImage(Fixture.golden("image0.pixel_values"));
        float[] image1 = model.encodeImage(Fixture.golden("image1.pixel_values"));
        int[] turn1 = Fixture.promptIds("prompt0");
        // "</s>USER: <|image|>Describe ASSISTANT:" in the shape of the multi-turn chat template (docs/model.md).
        int[] turn2 = {2, 3148, 1001, 29901, 29871, -200, 20355, 915, 319, 1799, 9047, 13566, 29901};

        Session chat = model.newSession();
        float[] logits = chat.prefill(turn1, List.of(image0));
        int[] reply = new int[2];
        for (int i = 0; i < reply.length; i++) {
            reply[i] = Owl2ModelTest.argmax(logits);
            logits = chat.step(reply[i]);
        }
        int before = chat.position();
        float[] turn2Logits = chat.prefill(turn2, List.of(image1));
        assertEquals(before + turn2.length - 1 + 65, chat.position(), "positions held after the second chunk");

        List<float[]> bothImages = new ArrayList<>(List.of(image0, image1));
        int[] whole = concat(turn1, reply, turn2);
        Session fresh = model.newSession();
        float[] full = fresh.prefill(whole, bothImages);
        assertEquals(fresh.position(), chat.position());
        NumericAssert.assertAllClose("turn-2 logits vs full recompute", full, turn2Logits, LOGIT_TOLERANCE);

        int next = Owl2ModelTest.argmax(turn2Logits);
        NumericAssert.assertAllClose("step after turn 2 vs full recompute",
                model.newSession().prefill(concat(whole, new int[]{next}), bothImages), chat.step(next), LOGIT_TOLERANCE);
    }

    @Test
    void truncatingTheCacheRegeneratesTheSameLogits() {
        Session s = Fixture.model().newSession();
        int[] ids = Fixture.promptIds("prompt1");
        float[] first = s.prefill(ids, List.of());
        float[] stepA = s.step(Owl2ModelTest.argmax(first));
        s.step(7);
        s.truncate(ids.length);
        assertEquals(ids.length, s.position());
        // the same arithmetic on the same cache rows; a tolerance only because C2 may compile a kernel between the
        // two steps and change the lane-reduction order (the full suite once read 0.5868407 against 0.5868404)
        NumericAssert.assertAllClose("the step after truncating", stepA, s.step(Owl2ModelTest.argmax(first)), 1e-5);
    }

    @Test
    void theContextLimitIsAUserErrorAndLeavesTheCacheIntact() {
        Owl2Model model = Fixture.model();
        int[] ids = Fixture.promptIds("prompt1"); // 16 positions
        Owl2jException tooLong = assertThrows(Owl2jException.class,
                () -> model.newSession(15, Trace.NONE).prefill(ids, List.of()));
        assertTrue(tooLong.getMessage().contains("context full: 16 positions needed, the limit is 15"), tooLong.getMessage());

        Session s = model.newSession(17, Trace.NONE);
        s.prefill(ids, List.of());
        s.step(5);
        assertEquals(17, s.position());
        assertEquals(17, s.cache().length());
        assertThrows(Owl2jException.class, () -> s.step(5));
        assertEquals(17, s.position());
    }

    /** A long prompt runs through the decoder in chunks; here chunks of 7 positions (images split across them). */
    @ParameterizedTest
    @ValueSource(strings = {"prompt0", "prompt1", "prompt2"})
    void aChunkedPrefillEqualsOnePass(String prompt) {
        Owl2Model model = Fixture.model();
        int[] ids = Fixture.promptIds(prompt);
        List<float[]> images = Owl2ModelTest.imagesOf(prompt);
        Session whole = model.newSession();
        Session chunked = model.newSession();
        float[] expected = whole.prefill(ids, images, Integer.MAX_VALUE);
        float[] actual = chunked.prefill(ids, images, 7);
        NumericAssert.assertAllClose(prompt + " chunked prefill", expected, actual, LOGIT_TOLERANCE);
        assertEquals(whole.position(), chunked.position());
        // and the caches agree: the next steps give the same logits
        int next = Owl2ModelTest.argmax(expected);
        NumericAssert.assertAllClose(prompt + " step after chunked prefill", whole.step(next), chunked.step(next), LOGIT_TOLERANCE);
    }

    private static float element(int layer, int part, int pos, int d) {
        return layer * 1000f + part * 500f + pos + d / 8f;
    }

    private static void write(KVCache c, int pos, int n, int layers, int kvDim) {
        for (int l = 0; l < layers; l++) {
            float[] k = new float[(n + 1) * kvDim];
            float[] v = new float[(n + 1) * kvDim];
            for (int t = 0; t < n; t++) {
                for (int d = 0; d < kvDim; d++) {
                    k[(t + 1) * kvDim + d] = element(l, 0, pos + t, d);
                    v[(t + 1) * kvDim + d] = element(l, 1, pos + t, d);
                }
            }
            c.write(l, k, v, 1, pos, n); // source rows start at row 1
        }
    }

    private static void assertHolds(KVCache c, int layers, int kvDim, String what) {
        for (int l = 0; l < layers; l++) {
            for (int pos = 0; pos < c.length(); pos++) {
                for (int d = 0; d < kvDim; d++) {
                    long at = ((long) pos * kvDim + d) * Float.BYTES;
                    assertEquals(element(l, 0, pos, d), c.keys(l).get(java.lang.foreign.ValueLayout.JAVA_FLOAT, at),
                            what + ": key layer " + l + " position " + pos + " element " + d);
                    assertEquals(element(l, 1, pos, d), c.values(l).get(java.lang.foreign.ValueLayout.JAVA_FLOAT, at),
                            what + ": value layer " + l + " position " + pos + " element " + d);
                }
            }
        }
    }

    /**
     * Rows written in chunks survive every doubling of the capacity; a copy is independent; close frees. With the
     * storage copied on growth (context 0) and reserved for the context limit or more (where the system lends address
     * space: Linux; elsewhere these run the copying storage too).
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 200, 512})
    void storageKeepsEveryRowThroughGrowthCopyAndClose(int context) {
        int layers = 3, kvDim = 5;
        KVCache cache = new KVCache(layers, kvDim, 200, context, KVCache.PROCESS_BUDGET);
        int[] chunks = {1, 7, 13, 1, 1, 40, 3, 60};
        for (int n : chunks) {
            cache.reserve(n);
            write(cache, cache.length(), n, layers, kvDim);
            cache.commit(n);
            assertHolds(cache, layers, kvDim, "after " + cache.length() + " positions");
        }
        assertEquals(126, cache.length());

        KVCache copy = cache.copy();
        assertEquals(cache.length(), copy.length());
        assertHolds(copy, layers, kvDim, "copy");
        // overwrite the original's last rows with other values: the copy keeps its own
        cache.truncate(100);
        cache.reserve(26);
        for (int l = 0; l < layers; l++) {
            cache.write(l, new float[26 * kvDim], new float[26 * kvDim], 0, 100, 26);
        }
        cache.commit(26);
        assertHolds(copy, layers, kvDim, "copy after the original changed");

        cache.close();
        cache.close(); // harmless
        assertThrows(IllegalStateException.class, () -> cache.reserve(1));
        assertThrows(IllegalStateException.class, cache::copy);
        copy.reserve(1); // the copy's storage is its own
        write(copy, copy.length(), 1, layers, kvDim);
        copy.commit(1);
        assertHolds(copy, layers, kvDim, "copy after the original was closed");
        copy.close();
    }

    /** A forked session keeps decoding after the session it came from is closed, with the same logits. */
    @Test
    void aForkOutlivesItsClosedParent() {
        Owl2Model model = Fixture.model();
        int[] ids = Fixture.promptIds("prompt1");
        Session parent = model.newSession();
        float[] logits = parent.prefill(ids, List.of());
        int next = Owl2ModelTest.argmax(logits);
        Session fork = parent.fork();
        float[] expected = parent.step(next);
        parent.close();
        assertThrows(IllegalStateException.class, () -> parent.step(next));
        // same arithmetic; a tolerance only because C2 may compile a kernel between the two steps and change the
        // lane-reduction order
        NumericAssert.assertAllClose("fork step after the parent closed", expected, fork.step(next), 1e-5);
        fork.close();
    }

    /**
     * Caches draw on a byte budget counting their capacity: growth past it fails with a message naming the limit,
     * closing gives back. Copying storage (context 0) and reserved storage alike.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 100})
    void theMemoryBudgetBoundsGrowthAndIsGivenBackOnClose(int context) {
        int layers = 2, kvDim = 4; // one position = 2 layers × 2 × 4 floats = 64 bytes
        KVCache.Budget budget = new KVCache.Budget(64 * 60);
        KVCache a = new KVCache(layers, kvDim, 100, context, budget);
        a.reserve(10); // 16 positions
        a.commit(10);
        assertEquals(64 * 16, budget.held());
        a.reserve(10); // 32 positions
        a.commit(10);
        assertEquals(64 * 32, budget.held());
        KVCache b = a.copy(); // 20 positions
        assertEquals(64 * 52, budget.held(), "a copy draws on the same budget");
        b.close();
        assertEquals(64 * 32, budget.held());
        // 32 -> 64 positions > 60 (copying storage briefly holds both, 96)
        a.reserve(12);
        a.commit(12);
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> a.reserve(1));
        assertTrue(e.getMessage().contains("limit 0.004 MiB (owl2j.kvCacheGiB)"), e.getMessage()); // 3840 bytes
        assertEquals(64 * 32, budget.held(), "a failed growth takes nothing");
        assertEquals(32, a.length(), "and keeps the cache as it was");
        a.close();
        assertEquals(0, budget.held());
    }

    private static void growAndDrop(KVCache.Budget budget) {
        KVCache c = new KVCache(2, 4, 100, budget);
        c.reserve(20);
        c.commit(20);
        assertEquals(64 * 100, budget.held()); // a first reservation leaves room for a reply, up to the limit of 100
    }

    /**
     * A prompt's reservation leaves {@link KVCache#REPLY_ROOM} positions for the reply (so decode does not move the
     * cache at its first steps), at most the context limit, and only what is needed where the budget cannot lend more.
     */
    @Test
    void aFirstReservationLeavesRoomForTheReply() {
        int layers = 2, kvDim = 4; // one position = 64 bytes
        KVCache.Budget budget = new KVCache.Budget(64 * 10_000);
        KVCache a = new KVCache(layers, kvDim, 1000, budget);
        a.reserve(127);
        a.commit(127);
        assertEquals(64 * (127 + KVCache.REPLY_ROOM), budget.held());
        for (int i = 0; i < KVCache.REPLY_ROOM; i++) {
            a.reserve(1);
            a.commit(1);
        }
        assertEquals(64 * (127 + KVCache.REPLY_ROOM), budget.held(), "a reply of REPLY_ROOM steps did not grow it");
        a.reserve(1); // past the room: doubling as before
        assertEquals(64 * 2 * (127 + KVCache.REPLY_ROOM), budget.held());
        a.close();

        KVCache capped = new KVCache(layers, kvDim, 300, budget);
        capped.reserve(127);
        assertEquals(64 * 300, budget.held(), "at most the context limit");
        capped.close();

        KVCache.Budget tight = new KVCache.Budget(64 * 200);
        KVCache b = new KVCache(layers, kvDim, 1000, tight);
        b.reserve(127);
        assertEquals(64 * 127, tight.held(), "what is needed where the budget cannot lend the room");
        b.close();
        assertEquals(0, tight.held());
        KVCache c = new KVCache(layers, kvDim, 1000, tight);
        assertThrows(OutOfMemoryError.class, () -> c.reserve(201), "nor more than the budget");
        assertEquals(0, tight.held());
    }

    /**
     * Reserved storage: growth moves nothing, and a closed cache's reservation (with the memory its rows touched)
     * serves the next cache of the same shape, whose own rows are all it reads; another shape gets its own.
     */
    @Test
    void aClosedCachesReservationServesTheNextCacheOfItsShape() {
        int layers = 3, kvDim = 7, context = 300; // a shape no other test uses, so no other cache takes its reservation
        KVCache a = new KVCache(layers, kvDim, context, context, KVCache.PROCESS_BUDGET);
        a.reserve(10);
        org.junit.jupiter.api.Assumptions.assumeTrue(a.reserved(), "no address space lent here (not Linux)");
        write(a, 0, 10, layers, kvDim);
        a.commit(10);
        long at = a.keys(0).address();
        a.reserve(280); // from 266 positions (10 + the reply's room) to 300: the rows stay where they are
        write(a, 10, 280, layers, kvDim);
        a.commit(280);
        assertEquals(at, a.keys(0).address(), "growth within the reservation moved the rows");
        assertHolds(a, layers, kvDim, "after growth");
        a.close();

        KVCache b = new KVCache(layers, kvDim, 50, context, KVCache.PROCESS_BUDGET); // a shorter limit, same shape
        b.reserve(4);
        assertTrue(b.reserved());
        assertEquals(at, b.keys(0).address(), "the closed cache's reservation was not reused");
        // the same memory, not a new mapping at the same address (which would read zero): a's row 20 is still there
        assertEquals(element(0, 0, 20, 3), b.keys(0).get(java.lang.foreign.ValueLayout.JAVA_FLOAT, (20L * kvDim + 3) * Float.BYTES));
        assertEquals(50L * kvDim * Float.BYTES, b.keys(0).byteSize(), "a layer's slice covers the capacity");
        write(b, 0, 4, layers, kvDim);
        b.commit(4);
        assertHolds(b, layers, kvDim, "the next cache");

        KVCache other = new KVCache(layers, kvDim + 1, 50, context, KVCache.PROCESS_BUDGET);
        other.reserve(1);
        assertTrue(other.keys(0).address() != at, "another shape shares the reservation in use");
        other.close();
        b.close();
    }

    /** A cache nobody closed gives its storage back once the collector finds it unreachable. */
    @Test
    void anUnclosedCacheIsFreedOnceUnreachable() throws InterruptedException {
        KVCache.Budget budget = new KVCache.Budget(1 << 20);
        growAndDrop(budget);
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (budget.held() != 0 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertEquals(0, budget.held(), "storage given back by the cleaner");
    }
}
