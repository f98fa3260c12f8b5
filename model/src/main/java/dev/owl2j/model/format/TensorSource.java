package dev.owl2j.model.format;

import dev.owl2j.model.tensor.Tensor;

import java.util.Set;

/** A set of named tensors read from a checkpoint (one file or many shards). */
public interface TensorSource extends AutoCloseable {
    /** The tensor names, in file order where the format has one. */
    Set<String> names();

    boolean contains(String name);

    /** The tensor, a zero-copy view where the format allows it; throws Owl2jException naming it when absent. */
    Tensor get(String name);

    /** A short description of the format ("safetensors", "pytorch .bin (33 shards)"). */
    String formatName();

    @Override
    void close();
}
