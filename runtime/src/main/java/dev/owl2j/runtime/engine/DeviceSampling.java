package dev.owl2j.runtime.engine;

/**
 * A session that can pick the next token on its device, so that per decode step only the token id crosses
 * the bus instead of the vocabulary's logits. Sessions whose {@link Engine.Session#capabilities} include
 * {@link Engine.Capability#DEVICE_SAMPLING} implement it; the Generator then uses it.
 */
public interface DeviceSampling {
    /**
     * Appends {@code token} (as {@link Engine.Session#step}) and returns the next token chosen from the new
     * logits exactly as the host Sampler would with the same parameters and {@code uniform} (the draw in [0, 1)
     * from the host Sampler's generator; ignored when greedy): temperature (0 = greedy), then top-k (0 = off),
     * then top-p, then one multinomial draw.
     */
    int stepSampled(int token, double temperature, int topK, double topP, double uniform);
}
