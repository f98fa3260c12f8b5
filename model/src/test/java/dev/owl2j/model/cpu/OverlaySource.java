package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** A checkpoint variant built in memory for tests: a base source with some tensors replaced or removed. */
final class OverlaySource implements TensorSource {
    private final TensorSource base;
    private final Map<String, Tensor> replaced;
    private final Set<String> names;

    OverlaySource(TensorSource base, Map<String, Tensor> replaced, Set<String> removed) {
        this.base = base;
        this.replaced = replaced;
        this.names = new LinkedHashSet<>(base.names());
        this.names.removeAll(removed);
        this.names.addAll(replaced.keySet());
    }

    /** A new [rows.length, cols] tensor whose row i is row rows[i] of the 2-D tensor src (same dtype). */
    static Tensor selectRows(Tensor src, int[] rows) {
        int cols = Math.toIntExact(src.dim(1));
        long rowBytes = src.dtype().bytesFor(cols);
        MemorySegment data = Arena.ofAuto().allocate(rowBytes * rows.length);
        for (int i = 0; i < rows.length; i++) {
            MemorySegment.copy(src.data(), rows[i] * rowBytes, data, i * rowBytes, rowBytes);
        }
        return new Tensor(src.name(), src.dtype(), new long[]{rows.length, cols}, data);
    }

    @Override
    public Set<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return names.contains(name);
    }

    @Override
    public Tensor get(String name) {
        if (!names.contains(name)) {
            throw new Owl2jException("no tensor " + name);
        }
        Tensor t = replaced.get(name);
        return t != null ? t : base.get(name);
    }

    @Override
    public String formatName() {
        return "overlay of " + base.formatName();
    }

    @Override
    public void close() {}
}
