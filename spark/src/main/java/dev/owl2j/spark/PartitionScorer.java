package dev.owl2j.spark;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.server.Scorer;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Score over the rows of one partition, one row at a time: one prefill of the row's prompt, then its candidates
 * together (the {@link Scorer} the server and owl2j score use). A row's scores depend on that row alone.
 */
final class PartitionScorer implements Iterator<Row> {
    private final Iterator<Row> input;
    private final BatchSettings settings;
    private final BatchModel model;
    private final LongConsumer done;

    PartitionScorer(Iterator<Row> input, BatchSettings settings, BatchModel model, LongConsumer done) {
        this.input = input;
        this.settings = settings;
        this.model = model;
        this.done = done;
    }

    @Override
    public boolean hasNext() {
        return input.hasNext();
    }

    @Override
    public Row next() {
        Row row = input.next();
        Row out;
        try {
            out = score(row);
        } catch (RuntimeException e) {
            out = Outputs.row(row, null, null, null, null, Outputs.message(e));
        }
        done.accept(1);
        return out;
    }

    private Row score(Row row) {
        RowInput in = RowInput.prepare(row, settings, model);
        List<Scorer.CandidateScore> scores;
        long t0, t1, t2;
        model.lock().lock();
        try {
            t0 = System.nanoTime();
            List<float[]> images = new ArrayList<>();
            for (float[] p : in.pixels()) images.add(model.engine().encodeImage(p));
            t1 = System.nanoTime();
            scores = Scorer.score(model.engine(), in.ids(), images, in.candidates());
            t2 = System.nanoTime();
        } catch (OutOfMemoryError e) {
            throw new Owl2jException("out of memory while scoring " + in.candidates().size() + " candidates");
        } finally {
            model.lock().unlock();
        }
        Row[] results = new Row[scores.size()];
        for (int i = 0; i < results.length; i++) {
            Scorer.CandidateScore s = scores.get(i);
            results[i] = RowFactory.create(settings.candidates().get(i), s.logprob(), Outputs.boxed(s.tokens()),
                    Outputs.boxed(s.tokenLogprobs()));
        }
        int positions = dev.owl2j.runtime.model.Prompts.positions(model.engine().config(), in.ids());
        return Outputs.row(row, results, positions, (t1 - t0) / 1e6, (t2 - t1) / 1e6, null);
    }
}
