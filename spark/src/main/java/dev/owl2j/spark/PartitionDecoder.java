package dev.owl2j.spark;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tokenizer.StreamingDecoder;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.VisualTokens;
import dev.owl2j.runtime.generation.Sampler;
import dev.owl2j.runtime.generation.SamplingParams;
import org.apache.spark.sql.Row;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;

/**
 * Caption and ask over the rows of one partition: continuous batching as the server does it (every running row
 * advances one token per {@link Engine#stepBatch}, a finished row's slot goes to the next row at once), but
 * driven by the rows' order alone. Which rows share a step therefore depends only on the partition's rows, never
 * on timing or on other tasks, and so does every answer: a batched step rounds differently from a single one
 * (docs/batch.md, Determinism). Rows come out in input order.
 *
 * <p>Preparing a row (tokenizing, decoding and resizing its image) runs on the task's thread; engine calls hold
 * the model's lock, so an executor's tasks take turns on its one engine.
 */
final class PartitionDecoder implements Iterator<Row>, AutoCloseable {
    private final Iterator<Row> input;
    private final BatchSettings settings;
    private final BatchModel model;
    private final LongConsumer done;
    private final ArrayDeque<Slot> order = new ArrayDeque<>();
    private final List<Slot> active = new ArrayList<>();

    /** @param done told of each row handed out (progress) */
    PartitionDecoder(Iterator<Row> input, BatchSettings settings, BatchModel model, LongConsumer done) {
        this.input = input;
        this.settings = settings;
        this.model = model;
        this.done = done;
    }

    @Override
    public boolean hasNext() {
        while ((order.isEmpty() || !order.peekFirst().finished) && (input.hasNext() || !active.isEmpty())) {
            admit();
            step();
        }
        return !order.isEmpty();
    }

    @Override
    public Row next() {
        if (!hasNext()) throw new NoSuchElementException();
        done.accept(1);
        return order.pollFirst().output();
    }

    /** Frees the KV caches of rows still running (the task ended early: cancelled, or a later failure). */
    @Override
    public void close() {
        for (Slot s : active) s.closeSession();
        active.clear();
    }

    /** Prepares and prefills rows in input order until every slot is taken or the input is done. */
    private void admit() {
        while (active.size() < settings.maxBatch() && input.hasNext()) {
            Slot s = new Slot(input.next());
            order.addLast(s);
            RowInput in;
            try {
                in = RowInput.prepare(s.row, settings, model);
            } catch (RuntimeException e) {
                s.fail(e);
                continue;
            }
            if (s.prefill(in)) {
                active.add(s);
            }
        }
    }

    private void step() {
        if (active.isEmpty()) return;
        List<Engine.Session> sessions = new ArrayList<>(active.size());
        int[] tokens = new int[active.size()];
        for (int i = 0; i < tokens.length; i++) {
            sessions.add(active.get(i).session);
            tokens[i] = active.get(i).pending;
        }
        List<float[]> logits;
        long t0 = System.nanoTime();
        model.lock().lock();
        try {
            logits = model.engine().stepBatch(sessions, tokens);
        } catch (RuntimeException | OutOfMemoryError e) {
            // the step failed for all of them; each row says why, the partition goes on with the next rows
            Throwable why = e instanceof OutOfMemoryError
                    ? new Owl2jException("out of memory in a decode step of " + active.size() + " rows (lower --max-batch)") : e;
            for (Slot s : active) s.fail(why);
            active.clear();
            return;
        } finally {
            model.lock().unlock();
        }
        long dt = System.nanoTime() - t0;
        for (int i = 0, j = 0; i < logits.size(); i++) {
            Slot s = active.get(j);
            s.decodeNanos += dt;
            if (s.accept(logits.get(i))) {
                j++;
            } else {
                active.remove(j);
            }
        }
    }

    /** The seed of one row's sampler: the job's seed mixed with the row's key, so a row draws the same numbers in any partition. */
    static long rowSeed(long seed, String key) {
        long h = 0xcbf29ce484222325L; // FNV-1a over the key's UTF-8 bytes
        for (byte b : (key == null ? "" : key).getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return new SplittableRandom(seed ^ h).nextLong();
    }

    /** One row on its way through the batch. */
    private final class Slot {
        final Row row;
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        Engine.Session session;
        Sampler sampler;
        StreamingDecoder decoder;
        int pending;
        int promptPositions;
        long encodeNanos;
        long prefillNanos;
        long decodeNanos;
        boolean finished;
        String finishReason;
        String error;

        Slot(Row row) {
            this.row = row;
        }

        /** Encodes the images and prefills; true when the row joins the batch. */
        boolean prefill(RowInput in) {
            BatchSettings s = settings;
            double topP = s.topP() != null ? s.topP() : model.generation().topP() != null ? model.generation().topP() : 1.0;
            sampler = new Sampler(new SamplingParams(s.temperature(), s.topK(), topP,
                    rowSeed(s.seed(), row.getString(RowInput.KEY)), s.maxNewTokens(), List.of()));
            decoder = model.tokenizer() == null ? null : model.tokenizer().newStreamingDecoder();
            float[] logits;
            model.lock().lock();
            try {
                long t0 = System.nanoTime();
                // visual tokens stay where the engine computed them (device memory on a GPU) until the prefill
                List<VisualTokens> images = new ArrayList<>();
                long t1;
                try {
                    for (float[] p : in.pixels()) images.add(model.engine().encode(p));
                    t1 = System.nanoTime();
                    session = model.engine().newSession();
                    logits = session.prefillEncoded(in.ids(), images);
                } finally {
                    for (VisualTokens v : images) v.close();
                }
                prefillNanos = System.nanoTime() - t1;
                encodeNanos = t1 - t0;
                promptPositions = session.position();
            } catch (RuntimeException e) {
                fail(e);
                return false;
            } catch (OutOfMemoryError e) {
                fail(new Owl2jException("out of memory in the prefill of " + in.ids().length + " prompt ids"));
                return false;
            } finally {
                model.lock().unlock();
            }
            return accept(logits);
        }

        /** Picks the next token; true while the row needs another step. */
        boolean accept(float[] logits) {
            int eos = model.eosId();
            if (tokens.size() < settings.minNewTokens() && eos >= 0 && eos < logits.length) {
                logits[eos] = Float.NEGATIVE_INFINITY; // transformers' min_new_tokens, as owl2j caption
            }
            int id;
            try {
                id = sampler.next(logits);
            } catch (RuntimeException e) {
                fail(e);
                return false;
            }
            if (id == eos) {
                finish("stop");
                return false;
            }
            tokens.add(id);
            if (decoder != null) text.append(decoder.accept(id));
            if (tokens.size() >= settings.maxNewTokens() || session.position() >= session.capacity()) {
                finish("length");
                return false;
            }
            pending = id;
            return true;
        }

        void finish(String reason) {
            if (decoder != null) text.append(decoder.finish());
            finishReason = reason;
            finished = true;
            closeSession();
        }

        void fail(Throwable e) {
            error = Outputs.message(e);
            finished = true;
            closeSession();
        }

        void closeSession() {
            if (session != null) {
                session.close();
                session = null;
            }
        }

        Row output() {
            if (error != null) {
                return Outputs.row(row, null, null, null, null, null, null, null, error);
            }
            int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
            // owl2j caption prints the caption stripped; owl2j run prints the text as generated
            String answer = settings.task() == BatchSettings.Task.CAPTION ? text.toString().strip() : text.toString();
            return Outputs.row(row, answer, Outputs.boxed(ids), finishReason, promptPositions,
                    encodeNanos / 1e6, prefillNanos / 1e6, decodeNanos / 1e6, null);
        }
    }
}
