package dev.owl2j.runtime.engine;

import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.Owl2Model;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.Tensor;

import java.util.List;
import java.util.function.Function;

/** The whole model on the CPU (module model's Vector API forward). The caller keeps ownership of the weights. */
public final class CpuEngine implements Engine {
    private final Owl2Model model;
    private final String description;

    public CpuEngine(TensorSource weights, Owl2Config config, Function<Tensor, Linear> linearFactory, String weightType) {
        this.model = Owl2Model.load(weights, config, linearFactory);
        this.description = "cpu, " + dev.owl2j.model.cpu.Parallel.parallelism() + " threads, " + weightType + " weights";
    }

    public Owl2Model model() {
        return model;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public Owl2Config config() {
        return model.config();
    }

    @Override
    public float[] encodeImage(float[] pixelValues) {
        return model.encodeImage(pixelValues);
    }

    @Override
    public Session newSession() {
        dev.owl2j.model.cpu.Session s = model.newSession();
        int capacity = model.config().maxPositionEmbeddings();
        return new Session() {
            @Override
            public float[] prefill(int[] ids, List<float[]> imageTokens) {
                return s.prefill(ids, imageTokens);
            }

            @Override
            public float[] step(int token) {
                return s.step(token);
            }

            @Override
            public int position() {
                return s.position();
            }

            @Override
            public int capacity() {
                return capacity;
            }
        };
    }

    /** The weights belong to whoever opened them (they may outlive this engine); nothing else to free. */
    @Override
    public void close() {
    }
}
