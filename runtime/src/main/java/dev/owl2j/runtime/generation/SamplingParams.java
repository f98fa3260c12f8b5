package dev.owl2j.runtime.generation;

import dev.owl2j.model.Owl2jException;

import java.util.List;

/**
 * How the next token is chosen. temperature 0 means greedy (argmax, lowest id on ties, as the reference); so
 * does any temperature below {@link #MIN_TEMPERATURE}, which is stored as 0.
 * topK 0 disables top-k; topP 1 disables nucleus filtering. seed null means a random seed.
 */
public record SamplingParams(double temperature, int topK, double topP, Long seed, int maxNewTokens, List<String> stop,
                             LogitProcessing processing) {
    /**
     * Temperatures below this are greedy. Dividing logits by a tiny temperature overflows to infinity (1e-320
     * turns every logit into ±infinity and the softmax into NaN), and long before that the distribution is
     * greedy in all but name: at 1e-5 a logit gap of 0.001 is already a factor e^100.
     */
    public static final double MIN_TEMPERATURE = 1e-5;

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new Owl2jException("temperature must be >= 0, got " + temperature);
        }
        if (temperature < MIN_TEMPERATURE) {
            temperature = 0;
        }
        if (topK < 0) {
            throw new Owl2jException("top-k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new Owl2jException("top-p must be in (0, 1], got " + topP);
        }
        if (maxNewTokens < 1) {
            throw new Owl2jException("max new tokens must be >= 1, got " + maxNewTokens);
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        processing = processing == null ? LogitProcessing.NONE : processing;
    }

    /** Without logit processing (penalties, biases, constraints). */
    public SamplingParams(double temperature, int topK, double topP, Long seed, int maxNewTokens, List<String> stop) {
        this(temperature, topK, topP, seed, maxNewTokens, stop, LogitProcessing.NONE);
    }

    public SamplingParams withProcessing(LogitProcessing p) {
        return new SamplingParams(temperature, topK, topP, seed, maxNewTokens, stop, p);
    }

    /**
     * The parameters of choice {@code index} of several drawn from one prompt: each gets its own seed stream
     * (seed + index × the golden-ratio increment SplittableRandom uses; choice 0 keeps the seed, so it equals a
     * single-choice request), or its own random seed when none was given.
     */
    public SamplingParams forChoice(int index) {
        if (index == 0 || seed == null) return this;
        return new SamplingParams(temperature, topK, topP, seed + index * 0x9E3779B97F4A7C15L, maxNewTokens, stop, processing);
    }

    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(0, 0, 1, 0L, maxNewTokens, List.of());
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
