package dev.owl2j.runtime.generation;

import dev.owl2j.model.Owl2jException;

import java.util.Locale;

/**
 * The model's logits hold NaN or +infinity (or no finite value at all), so no token can be chosen honestly. This
 * comes from a broken checkpoint or configuration (for example a negative {@code rms_norm_eps} or an
 * {@code image_std} of 0), never from a request; the server answers it as a server error.
 */
public final class NonFiniteLogitsException extends Owl2jException {
    public NonFiniteLogitsException(int nan, int posInf, int size) {
        super(String.format(Locale.ROOT,
                "the model produced invalid logits (%d NaN, %d +infinity of %d values); the checkpoint or its configuration"
                        + " is broken (for example rms_norm_eps <= 0 or an image_std of 0)", nan, posInf, size));
    }

    /** Throws when {@code logits} hold NaN or +infinity, or only -infinity; returns them otherwise. */
    public static float[] check(float[] logits) {
        boolean finite = false;
        int nan = 0;
        int posInf = 0;
        for (float l : logits) {
            if (Float.isNaN(l)) {
                nan++;
            } else if (l == Float.POSITIVE_INFINITY) {
                posInf++;
            } else if (l != Float.NEGATIVE_INFINITY) {
                finite = true;
            }
        }
        if (nan > 0 || posInf > 0 || !finite) {
            throw new NonFiniteLogitsException(nan, posInf, logits.length);
        }
        return logits;
    }
}
