package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.WeightType;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.checkpoint.ExpectedTensors.Expected;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Quantizer;
import dev.owl2j.model.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks checkpoint tensors against the names and shapes the config implies ({@link ExpectedTensors}) and
 * uploads them once: matrices as stored (F32/F16/BF16, or
 * already-quantized Q8_0/Q4_0), optionally quantized at upload; vectors widened to F32. Also sizes the upload
 * beforehand so a device that is too small fails with "needed vs free" before anything is allocated.
 */
final class DeviceWeights {
    /** A weight matrix on the device: y = W·x with W [rows, cols]. */
    record Mat(Buffer buffer, WeightType type, int rows, int cols) {}

    private static final long CHUNK = 64L << 20;

    private final TensorSource source;
    private final ExpectedTensors expected;
    private final ComputeContext ctx;
    private final List<Buffer> owned = new ArrayList<>();
    private long uploadedBytes;

    DeviceWeights(TensorSource source, ExpectedTensors expected, ComputeContext ctx) {
        this.source = source;
        this.expected = expected;
        this.ctx = ctx;
    }

    List<Buffer> buffers() {
        return owned;
    }

    long uploadedBytes() {
        return uploadedBytes;
    }

    boolean contains(String name) {
        return source.contains(name);
    }

    /** The tensor, which must have the shape the config implies. */
    Tensor tensor(String name) {
        long[] shape = expected.require(name).shape();
        if (!source.contains(name)) throw new Owl2jException("checkpoint has no tensor " + name);
        Tensor t = source.get(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new Owl2jException("checkpoint tensor " + name + " has shape " + t.shapeString() + ", expected " + Arrays.toString(shape));
        }
        if (!t.dtype().isFloat() && !t.dtype().isQuantized()) {
            throw new Owl2jException("checkpoint tensor " + name + " has non-float dtype " + t.dtype());
        }
        return t;
    }

    /** Device bytes a matrix will take with this quantization (null: as stored). */
    static long matrixBytes(Tensor t, DType quant) {
        long rows = t.dim(0), cols = t.numel() / rows;
        return weightType(t.dtype(), quant, cols).bytes(rows, cols);
    }

    static WeightType weightType(DType stored, DType quant, long cols) {
        if (quant != null && !stored.isQuantized() && cols % 32 == 0) {
            return quant == DType.Q4_0 ? WeightType.Q4_0 : WeightType.Q8_0;
        }
        return switch (stored) {
            case F16 -> WeightType.F16;
            case BF16 -> WeightType.BF16;
            case Q8_0 -> WeightType.Q8_0;
            case Q4_0 -> WeightType.Q4_0;
            default -> WeightType.F32; // F32, F64 widened/narrowed to F32
        };
    }

    /**
     * A [rows, cols] matrix (the tensor may be stored with more dimensions, like the patch conv, and is used as
     * [first dimension, product of the others]), quantized at upload to {@code quant} unless null.
     */
    Mat matrix(String name, DType quant) {
        Expected e = expected.require(name);
        int rows = e.rows(), cols = e.cols();
        Tensor t = tensor(name);
        WeightType type = weightType(t.dtype(), quant, cols);
        Buffer b = ctx.allocate(type.bytes(rows, cols));
        owned.add(b);
        uploadedBytes += b.bytes();
        if (type.quantized() && !t.dtype().isQuantized()) {
            writeSegment(b, Quantizer.quantize(new Tensor(t.name(), t.dtype(), new long[]{rows, cols}, t.data()), dtypeOf(type)).data());
        } else if (type == WeightType.F32 && t.dtype() != DType.F32) {
            b.write(t.toFloatArray(), 0);
        } else {
            writeSegment(b, t.data());
        }
        return new Mat(b, type, rows, cols);
    }

    /** A small tensor widened to float and uploaded as F32 (norm weights, biases, embeddings of the vision side). */
    Buffer vector(String name) {
        Tensor t = tensor(name);
        if (t.dtype().isQuantized()) throw new Owl2jException("checkpoint tensor " + name + " is quantized (" + t.dtype() + "); only matrices may be");
        return upload(t.toFloatArray());
    }

    Buffer upload(float[] data) {
        Buffer b = ctx.upload(data);
        owned.add(b);
        uploadedBytes += b.bytes();
        return b;
    }

    /** Copies a (possibly huge, possibly heap) segment in 64 MiB pieces through direct memory. */
    private static void writeSegment(Buffer b, MemorySegment data) {
        long size = data.byteSize();
        ByteBuffer staging = null;
        try {
            for (long off = 0; off < size; off += CHUNK) {
                long len = Math.min(CHUNK, size - off);
                MemorySegment piece = data.asSlice(off, len);
                ByteBuffer bb;
                if (piece.isNative()) {
                    bb = piece.asByteBuffer();
                } else {
                    if (staging == null) staging = ByteBuffer.allocateDirect((int) Math.min(CHUNK, size)).order(ByteOrder.LITTLE_ENDIAN);
                    staging.clear();
                    MemorySegment.ofBuffer(staging).copyFrom(piece);
                    staging.limit((int) len);
                    bb = staging;
                }
                b.write(off, bb);
            }
        } finally {
            staging = null;
        }
    }

    private static DType dtypeOf(WeightType w) {
        return w == WeightType.Q4_0 ? DType.Q4_0 : DType.Q8_0;
    }

    void close() {
        for (Buffer b : owned) b.close();
        owned.clear();
    }
}
