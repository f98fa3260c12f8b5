package dev.owl2j.model.checkpoint;

import dev.owl2j.model.tensor.Tensor;

/**
 * What {@link CheckpointConverter} does to each tensor on its way out: change its dtype, quantize it, or
 * pass it through. Called once per tensor, in file order; the result may be a view of the input (identity)
 * or a new buffer, which the converter writes and then drops before asking for the next one.
 */
@FunctionalInterface
public interface TensorTransform {
    Tensor apply(Tensor t);

    static TensorTransform identity() {
        return t -> t;
    }

    /** This transform, then {@code next}. */
    default TensorTransform andThen(TensorTransform next) {
        return t -> next.apply(apply(t));
    }
}
