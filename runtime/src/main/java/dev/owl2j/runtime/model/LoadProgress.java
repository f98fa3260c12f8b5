package dev.owl2j.runtime.model;

import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.Tensor;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.util.HashSet;
import java.util.Set;

/**
 * A progress bar over the tensors an engine takes from a checkpoint while it loads (mapping is instant, but
 * quantizing, copying strided .bin tensors or uploading to a device takes a while at 7B). Shown only for
 * large checkpoints, on stderr.
 */
final class LoadProgress implements TensorSource {
    /** Below this the load is quick and a bar would only flicker. */
    static final long THRESHOLD_BYTES = 1L << 30;

    private final TensorSource inner;
    private final ProgressBar bar;
    private final Set<String> seen = new HashSet<>();

    private LoadProgress(TensorSource inner, ProgressBar bar) {
        this.inner = inner;
        this.bar = bar;
    }

    /** Wraps {@code source} with a bar when the checkpoint is large; returns it unchanged otherwise. */
    static TensorSource wrap(TensorSource source, long checkpointBytes, String task) {
        if (checkpointBytes < THRESHOLD_BYTES) {
            return source;
        }
        ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(source.names().size())
                .setStyle(ProgressBarStyle.ASCII).setUnit(" tensors", 1).setUpdateIntervalMillis(250).build();
        return new LoadProgress(source, bar);
    }

    /** Ends the bar (the engine has taken what it needs). */
    static void finish(TensorSource source) {
        if (source instanceof LoadProgress p) {
            p.bar.stepTo(p.bar.getMax());
            p.bar.close();
        }
    }

    @Override
    public Set<String> names() {
        return inner.names();
    }

    @Override
    public boolean contains(String name) {
        return inner.contains(name);
    }

    @Override
    public synchronized Tensor get(String name) {
        Tensor t = inner.get(name);
        if (seen.add(name)) {
            bar.step();
        }
        return t;
    }

    @Override
    public String formatName() {
        return inner.formatName();
    }

    /** The checkpoint owns the tensors; closing the view frees nothing. */
    @Override
    public void close() {
    }
}
