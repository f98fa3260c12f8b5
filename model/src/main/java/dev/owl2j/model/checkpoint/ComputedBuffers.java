package dev.owl2j.model.checkpoint;

import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.host.SinCosPositions;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint's tensors plus the deterministic buffers it may lack: the abstractor's {@code q_pos_embed}
 * and {@code k_pos_embed} (docs/model.md, Abstractor; the release does not store them). Stored tensors always win;
 * the computed ones are F32, as the reference builds them, and are shared by all layers (identical tables).
 * A table is computed when it is first read, so that opening and validating a checkpoint never allocates for
 * it (docs/security.md, Checkpoints).
 */
public final class ComputedBuffers implements TensorSource {
    private final TensorSource stored;
    private final Owl2Config.AbstractorConfig abstractor;
    /** Names of the tables this source supplies, with their shapes. */
    private final Map<String, long[]> computed;
    private final Set<String> names;
    private final Arena arena;
    private MemorySegment q, k;

    private ComputedBuffers(TensorSource stored, Owl2Config.AbstractorConfig abstractor, Map<String, long[]> computed) {
        this.stored = stored;
        this.abstractor = abstractor;
        this.computed = computed;
        this.arena = Arena.ofShared();
        Set<String> n = new LinkedHashSet<>(stored.names());
        n.addAll(computed.keySet());
        this.names = Collections.unmodifiableSet(n);
    }

    /** Wraps {@code stored}; supplies only the tables it lacks. Closing the result closes {@code stored}. */
    public static ComputedBuffers over(TensorSource stored, Owl2Config config) {
        Owl2Config.AbstractorConfig a = config.abstractor();
        Map<String, long[]> computed = new LinkedHashMap<>();
        for (int l = 0; l < a.numHiddenLayers(); l++) {
            String qName = ExpectedTensors.abstractorLayer(l).qPosEmbed(), kName = ExpectedTensors.abstractorLayer(l).kPosEmbed();
            if (!stored.contains(qName)) {
                computed.put(qName, new long[]{a.numLearnableQueries(), a.hiddenSize()});
            }
            if (!stored.contains(kName)) {
                computed.put(kName, new long[]{1L + (long) a.gridSize() * a.gridSize(), a.hiddenSize()});
            }
        }
        return new ComputedBuffers(stored, a, computed);
    }

    private static MemorySegment floats(Arena arena, float[] v) {
        MemorySegment s = arena.allocate((long) v.length * 4, 64);
        MemorySegment.copy(v, 0, s, Tensor.F32_LE, 0, v.length);
        return s;
    }

    /** Names of the tensors this source computes (empty when the checkpoint stores them all). */
    public Set<String> computedNames() {
        return Collections.unmodifiableSet(computed.keySet());
    }

    public TensorSource stored() {
        return stored;
    }

    @Override
    public Set<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return computed.containsKey(name) || stored.contains(name);
    }

    @Override
    public Tensor get(String name) {
        long[] shape = computed.get(name);
        if (shape == null) return stored.get(name);
        return new Tensor(name, DType.F32, shape.clone(), name.endsWith("q_pos_embed") ? queryTable() : keyTable());
    }

    private synchronized MemorySegment queryTable() {
        if (q == null) q = floats(arena, SinCosPositions.queryTable(abstractor.hiddenSize(), abstractor.numLearnableQueries()));
        return q;
    }

    private synchronized MemorySegment keyTable() {
        if (k == null) k = floats(arena, SinCosPositions.keyTable(abstractor.hiddenSize(), abstractor.gridSize()));
        return k;
    }

    @Override
    public Info info(String name) {
        long[] shape = computed.get(name);
        return shape != null ? new Info(DType.F32, shape.clone()) : stored.info(name);
    }

    @Override
    public String formatName() {
        return stored.formatName();
    }

    @Override
    public void close() {
        stored.close();
        arena.close();
    }
}
