package dev.owl2j.model.format;

import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.util.Set;

/** A set of named tensors read from a checkpoint (one file or many shards). */
public interface TensorSource extends AutoCloseable {
    /** The tensor names, in file order where the format has one. */
    Set<String> names();

    boolean contains(String name);

    /** The tensor, a zero-copy view where the format allows it; throws Owl2jException naming it when absent. */
    Tensor get(String name);

    /** A tensor's dtype and shape, known without reading, copying or inflating its data. */
    record Info(DType dtype, long[] shape) {}

    /**
     * The dtype and shape of a tensor without materialising it (reports and validation use this, so that a tensor
     * the model does not use is never copied or inflated). Throws Owl2jException naming it when absent.
     */
    default Info info(String name) {
        Tensor t = get(name);
        return new Info(t.dtype(), t.shape());
    }

    /** A short description of the format ("safetensors", "pytorch .bin (33 shards)"). */
    String formatName();

    @Override
    void close();
}
