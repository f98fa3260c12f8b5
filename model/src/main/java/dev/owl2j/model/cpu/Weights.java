package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.checkpoint.ExpectedTensors.Expected;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Function;

/**
 * Fetches checkpoint tensors by their checkpoint names and checks them against the shapes the config implies
 * ({@link ExpectedTensors}), so a wrong or truncated checkpoint fails at load with a message naming the tensor.
 * Matrices become {@link Linear}s through the injected factory and keep their stored dtype; small vectors are
 * widened to float.
 */
final class Weights {
    private final TensorSource source;
    private final ExpectedTensors expected;
    private final Function<Tensor, Linear> linearFactory;

    Weights(TensorSource source, ExpectedTensors expected, Function<Tensor, Linear> linearFactory) {
        this.source = source;
        this.expected = expected;
        this.linearFactory = linearFactory;
    }

    boolean contains(String name) {
        return source.contains(name);
    }

    /** The tensor, which must have the shape the config implies. */
    Tensor tensor(String name) {
        long[] shape = expected.require(name).shape();
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

    /** A small tensor widened to float (norm weights, biases, embeddings tables of the vision side). */
    float[] floats(String name) {
        Tensor t = tensor(name);
        if (t.dtype().isQuantized()) {
            throw new Owl2jException("checkpoint tensor " + name + " is quantized (" + t.dtype() + "); only matrices may be");
        }
        return t.toFloatArray();
    }

    /**
     * A weight matrix as a Linear (y = W·x): [rows, cols], or stored with more dimensions (the patch conv) and
     * used as the [first dimension, product of the others] matrix it flattens to.
     */
    Linear linear(String name) {
        Expected e = expected.require(name);
        Tensor t = tensor(name);
        if (t.rank() != 2) t = new Tensor(t.name(), t.dtype(), new long[]{e.rows(), e.cols()}, t.data());
        return linearFactory.apply(t);
    }
}
