package dev.owl2j.model.checkpoint;

import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.SinCosPositions;
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
 * and {@code k_pos_embed} (docs/model.md, Abstractor; the release does not store them). Stored tensors always win; the
 * computed ones are F32, as the reference builds them, and are shared by all layers (identical tables).
 */
public final class ComputedBuffers implements TensorSource {
    private final TensorSource stored;
    private final Map<String, Tensor> computed;
    private final Set<String> names;
    private final Arena arena;

    private ComputedBuffers(TensorSource stored, Map<String, Tensor> computed, Arena arena) {
        this.stored = stored;
        this.computed = computed;
        this.arena = arena;
        Set<String> n = new LinkedHashSet<>(stored.names());
        n.addAll(computed.keySet());
        this.names = Collections.unmodifiableSet(n);
    }

    /** Wraps {@code stored}; computes only the tables it lacks. Closing the result closes {@code stored}. */
    public static ComputedBuffers over(TensorSource stored, Owl2Config config) {
        Owl2Config.AbstractorConfig a = config.abstractor();
        Arena arena = Arena.ofShared();
        Map<String, Tensor> computed = new LinkedHashMap<>();
        MemorySegment q = null, k = null;
        for (int l = 0; l < a.numHiddenLayers(); l++) {
            String p = "model.visual_abstractor.encoder.layers." + l + ".crossattention.attention.";
            if (!stored.contains(p + "q_pos_embed")) {
                if (q == null) q = floats(arena, SinCosPositions.queryTable(a.hiddenSize(), a.numLearnableQueries()));
                computed.put(p + "q_pos_embed", new Tensor(p + "q_pos_embed", DType.F32,
                        new long[]{a.numLearnableQueries(), a.hiddenSize()}, q));
            }
            if (!stored.contains(p + "k_pos_embed")) {
                if (k == null) k = floats(arena, SinCosPositions.keyTable(a.hiddenSize(), a.gridSize()));
                computed.put(p + "k_pos_embed", new Tensor(p + "k_pos_embed", DType.F32,
                        new long[]{1L + (long) a.gridSize() * a.gridSize(), a.hiddenSize()}, k));
            }
        }
        return new ComputedBuffers(stored, computed, arena);
    }

    private static MemorySegment floats(Arena arena, float[] v) {
        MemorySegment s = arena.allocate((long) v.length * 4, 64);
        MemorySegment.copy(v, 0, s, Tensor.F32_LE, 0, v.length);
        return s;
    }

    /** Names of the tensors this source computed (empty when the checkpoint stores them all). */
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
        Tensor t = computed.get(name);
        return t != null ? t : stored.get(name);
    }

    @Override
    public Info info(String name) {
        Tensor t = computed.get(name);
        return t != null ? new Info(t.dtype(), t.shape()) : stored.info(name);
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
