package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Function;

/**
 * Fetches checkpoint tensors by their checkpoint names and checks their shapes, so a wrong or truncated
 * checkpoint fails at load with a message naming the tensor. Matrices become {@link Linear}s through the
 * injected factory and keep their stored dtype; small vectors are widened to float.
 */
final class Weights {
    private final TensorSource source;
    private final Function<Tensor, Linear> linearFactory;

    Weights(TensorSource source, Function<Tensor, Linear> linearFactory) {
        this.source = source;
        this.linearFactory = linearFactory;
    }

    boolean contains(String name) {
        return source.contains(name);
    }

    /** The tensor, which must have exactly this shape. */
    Tensor tensor(String name, long... shape) {
        if (!source.contains(name)) {
            throw new Owl2jException("checkpoint has no tensor " + name);
        }
        Tensor t = source.get(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new Owl2jException("checkpoint tensor " + name + " has shape " + t.shapeString()
                    + ", expected " + Arrays.toString(shape));
        }
        if (!t.dtype().isFloat() && !t.dtype().isQuantized()) {
            throw new Owl2jException("checkpoint tensor " + name + " has non-float dtype " + t.dtype());
        }
        return t;
    }

    /** A small tensor of this shape widened to float (norm weights, biases, embeddings tables of the vision side). */
    float[] floats(String name, long... shape) {
        Tensor t = tensor(name, shape);
        if (t.dtype().isQuantized()) {
            throw new Owl2jException("checkpoint tensor " + name + " is quantized (" + t.dtype() + "); only matrices may be");
        }
        return t.toFloatArray();
    }

    /** A [rows, cols] weight matrix as a Linear (y = W·x). */
    Linear linear(String name, int rows, int cols) {
        return linearFactory.apply(tensor(name, rows, cols));
    }

    /** A weight stored with more dimensions (the patch conv) used as the [rows, cols] matrix it flattens to. */
    Linear linearReshaped(String name, long[] storedShape, int rows, int cols) {
        Tensor t = tensor(name, storedShape);
        return linearFactory.apply(new Tensor(t.name(), t.dtype(), new long[]{rows, cols}, t.data()));
    }
}
