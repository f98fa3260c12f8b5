package dev.owl2j.runtime.synthetic;

import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Released synthetic tensors free their memory, and a later get makes the same values again. */
class SyntheticWeightsTest {
    @Test
    void releaseFreesATensorAndGetMakesItAgain() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.layers.0.mlp.down_proj.weight", new long[]{8, 96});
        shapes.put("model.norm.weight", new long[]{96});
        try (SyntheticWeights w = new SyntheticWeights(shapes, n -> n.endsWith("proj.weight") ? DType.Q4_0 : DType.F16, 7)) {
            String name = "model.layers.0.mlp.down_proj.weight";
            assertEquals(8 * 3 * 18, w.byteSize(name));
            Tensor first = w.get(name);
            byte[] before = first.data().toArray(ValueLayout.JAVA_BYTE);
            w.release(name);
            assertThrows(IllegalStateException.class, () -> first.data().get(ValueLayout.JAVA_BYTE, 0),
                    "a released tensor's memory is gone");
            byte[] again = w.get(name).data().toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(before, again, "made again with the same values");
            assertEquals(96 * 2, w.get("model.norm.weight").data().byteSize());
        }
    }
}
