package dev.owl2j.runtime.engine;

import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.Linear;
import dev.owl2j.model.cpu.Owl2Model;
import dev.owl2j.model.cpu.kernel.Linears;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.util.List;
import java.util.function.Function;

/** The whole model on the CPU (module model's Vector API forward). */
public final class CpuEngine implements Engine {
    private final Owl2Model model;
    private final TensorSource weights;
    private final String description;

    /** The default: Vector API kernels over the weights as stored (dev.owl2j.model.cpu.kernel.Linears). */
    public CpuEngine(TensorSource weights, Owl2Config config) {
        this(weights, config, (DType) null);
    }

    /** Vector API kernels, with the decoder's projections quantized at load to quant (Q8_0/Q4_0; null = as stored). */
    public CpuEngine(TensorSource weights, Owl2Config config, DType quant) {
        this(weights, config, Linears.factory(quant), quant == null ? "stored" : quant.name());
    }

    public CpuEngine(TensorSource weights, Owl2Config config, Function<Tensor, Linear> linearFactory, String weightType) {
        this.weights = weights;
        this.model = Owl2Model.load(weights, config, linearFactory);
        this.description = "cpu, " + Runtime.getRuntime().availableProcessors() + " threads, " + weightType + " weights";
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

    @Override
    public void close() {
        weights.close();
    }
}
