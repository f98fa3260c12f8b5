package dev.owl2j.runtime.generation;

import dev.owl2j.model.Owl2jException;

import java.util.Map;

/**
 * What changes the logits before the sampling warpers, in this order: {@code logitBias} added to the listed tokens;
 * the repetition penalty of transformers' RepetitionPenaltyLogitsProcessor (each token seen in the prompt or the
 * reply: a positive logit divided by it, a negative one multiplied); OpenAI's presence and frequency penalties
 * (the logit of a token that occurs c times in the reply so far minus c·frequency, minus presence when c > 0);
 * then a constraint's mask. {@link #NONE} changes nothing.
 *
 * @param presencePenalty   OpenAI's presence_penalty, -2 to 2
 * @param frequencyPenalty  OpenAI's frequency_penalty, -2 to 2
 * @param repetitionPenalty transformers' repetition_penalty, above 0 (1 = off)
 * @param logitBias         token id to a bias from -100 to 100
 * @param constraint        constrained decoding (null = none)
 */
public record LogitProcessing(double presencePenalty, double frequencyPenalty, double repetitionPenalty,
                              Map<Integer, Double> logitBias, TokenConstraint.Factory constraint) {
    public static final LogitProcessing NONE = new LogitProcessing(0, 0, 1, Map.of(), null);

    public LogitProcessing {
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) throw new Owl2jException("presence penalty must be in [-2, 2], got " + presencePenalty);
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) throw new Owl2jException("frequency penalty must be in [-2, 2], got " + frequencyPenalty);
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new Owl2jException("repetition penalty must be a positive number, got " + repetitionPenalty);
        }
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
        for (Map.Entry<Integer, Double> e : logitBias.entrySet()) {
            if (e.getKey() < 0) throw new Owl2jException("logit bias for a negative token id " + e.getKey());
            if (!(e.getValue() >= -100 && e.getValue() <= 100)) throw new Owl2jException("logit bias must be in [-100, 100], got " + e.getValue());
        }
    }

    /** True when nothing changes the logits (the sampler can then use them as they are, a device can sample them). */
    public boolean isNone() {
        return presencePenalty == 0 && frequencyPenalty == 0 && repetitionPenalty == 1 && logitBias.isEmpty() && constraint == null;
    }

    public LogitProcessing withConstraint(TokenConstraint.Factory c) {
        return new LogitProcessing(presencePenalty, frequencyPenalty, repetitionPenalty, logitBias, c);
    }
}
