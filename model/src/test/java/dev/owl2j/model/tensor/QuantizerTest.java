package dev.owl2j.model.tensor;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Quantizer against golden blocks from an independent C implementation of ggml's reference quantizers
 * (scripts/quant/ggml_quant_ref.c → testdata/quant/): every byte must match. Round-trip error bounds:
 * Q8_0 |x − x̂| ≤ d/2 + F16 scale error, Q4_0 |x − x̂| ≤ d (the 4-bit grid spacing, incl. the clamp at 15).
 */
class QuantizerTest {
    static final int ROWS = 24;
    static final int COLS = 256;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void rowsMatchGgmlReferenceBitForBit(DType type) throws IOException {
        Path dir = TestData.root().resolve("quant");
        ByteBuffer rows = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("rows.f32"))).order(ByteOrder.LITTLE_ENDIAN);
        byte[] golden = Files.readAllBytes(dir.resolve(type.name().toLowerCase() + ".bin"));
        int rowBytes = (int) type.bytesFor(COLS);
        assertEquals(ROWS * rowBytes, golden.length);
        float[] all = new float[ROWS * COLS];
        rows.asFloatBuffer().get(all);
        for (int r = 0; r < ROWS; r++) {
            float[] row = java.util.Arrays.copyOfRange(all, r * COLS, (r + 1) * COLS);
            byte[] expected = java.util.Arrays.copyOfRange(golden, r * rowBytes, (r + 1) * rowBytes);
            assertArrayEquals(expected, Quantizer.quantizeRow(row, type), type + " row " + r);
        }
        // The tensor path (parallel rows, off-heap) gives the same bytes.
        MemorySegment src = Arena.ofAuto().allocate(all.length * 4L);
        MemorySegment.copy(all, 0, src, Tensor.F32_LE, 0, all.length);
        Tensor q = Quantizer.quantize(new Tensor("t", DType.F32, new long[]{ROWS, COLS}, src), type);
        assertArrayEquals(golden, q.data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void roundTripErrorIsWithinTheGridSpacing(DType type) {
        Random rnd = new Random(7);
        int rows = 13;
        int cols = 96;
        MemorySegment src = Arena.ofAuto().allocate((long) rows * cols * 2);
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            short h = Float.floatToFloat16((float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(4) - 2)));
            src.set(Tensor.I16_LE, i * 2L, h);
            x[i] = Float.float16ToFloat(h);
        }
        Tensor q = Quantizer.quantize(new Tensor("w", DType.F16, new long[]{rows, cols}, src), type);
        float[] back = Quantizer.dequantize(q);
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            double d = type == DType.Q8_0 ? amax / 127.0 : amax / 8.0;
            // grid spacing d, plus the F16 rounding of the scale (2^-11 relative) times the largest |q|
            double bound = (type == DType.Q8_0 ? d / 2 : d) + amax * Math.pow(2, -10) + 1e-12;
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                assertTrue(Math.abs(x[i] - back[i]) <= bound,
                        type + " element " + i + ": " + x[i] + " -> " + back[i] + " (bound " + bound + ")");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void tensorPathWidensEachSourceTypeLikeGetFloat(DType source) {
        Random rnd = new Random(11);
        int rows = 5;
        int cols = 64;
        MemorySegment src = Arena.ofAuto().allocate(source.bytesFor((long) rows * cols));
        for (long i = 0; i < (long) rows * cols; i++) {
            float v = (float) rnd.nextGaussian();
            switch (source) {
                case F32 -> src.set(Tensor.F32_LE, i * 4, v);
                case F16 -> src.set(Tensor.I16_LE, i * 2, Float.floatToFloat16(v));
                default -> src.set(Tensor.I16_LE, i * 2, (short) (Float.floatToRawIntBits(v) >>> 16));
            }
        }
        Tensor t = new Tensor("w", source, new long[]{rows, cols}, src);
        for (DType type : new DType[]{DType.Q8_0, DType.Q4_0}) {
            byte[] all = Quantizer.quantize(t, type).data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            int rowBytes = (int) type.bytesFor(cols);
            for (int r = 0; r < rows; r++) {
                float[] row = new float[cols];
                for (int c = 0; c < cols; c++) row[c] = t.getFloat((long) r * cols + c);
                assertArrayEquals(Quantizer.quantizeRow(row, type),
                        java.util.Arrays.copyOfRange(all, r * rowBytes, (r + 1) * rowBytes), source + " -> " + type + " row " + r);
            }
        }
    }

    @Test
    void refusesColumnsNotMultipleOf32WithTheTensorName() {
        Tensor t = new Tensor("model.layers.0.mlp.down_proj.weight", DType.F32, new long[]{2, 40},
                Arena.ofAuto().allocate(2 * 40 * 4));
        Owl2jException e = assertThrows(Owl2jException.class, () -> Quantizer.quantize(t, DType.Q8_0));
        assertTrue(e.getMessage().contains("model.layers.0.mlp.down_proj.weight"), e.getMessage());
    }
}
