package dev.owl2j.runtime.engine;

import dev.owl2j.runtime.generation.SamplingParams;

/**
 * A session that can pick the next token on its device, so that per decode step only the token id crosses
 * the bus instead of the vocabulary's logits. The Generator uses it when the session implements it.
 */
public interface DeviceSampling {
    /**
     * Appends {@code token} (as {@link Engine.Session#step}) and returns the next token chosen from the new
     * logits exactly as {@link dev.owl2j.runtime.generation.Sampler#pick} would with the same {@code uniform}
     * (the draw in [0, 1) from the host Sampler's generator; ignored when greedy).
     */
    int stepSampled(int token, SamplingParams params, double uniform);
}
