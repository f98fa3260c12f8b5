package dev.owl2j.spark;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.runtime.generation.SamplingParams;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * Everything an executor needs to turn rows into answers, sent with each task: the task, which model, the
 * prompt and sampling settings. Validated on the driver, before Spark starts any work.
 *
 * @param prompt       the prompt for every row (ask, score) when the input has no prompt column; null otherwise
 * @param raw          prompts are used as given, without the chat template
 * @param candidates   score: the candidate answers, in order
 * @param minNewTokens EOS is not allowed before this many tokens (caption: 8, as owl2j caption)
 * @param topP         null: generation_config.json's top_p, else 1 (as owl2j run)
 * @param seed         the job's seed; each row draws from its own generator seeded from this and the row's id
 */
public record BatchSettings(Task task, ModelKey model, String prompt, boolean raw, List<String> candidates,
                            int maxNewTokens, int minNewTokens, double temperature, int topK, Double topP, long seed,
                            String aspect, int maxBatch) implements Serializable {

    /** What is done with each row. */
    public enum Task {
        /** the caption prompt of owl2j caption, greedy */
        CAPTION,
        /** a question per row (prompt column) or one for all (--prompt), answered as owl2j run answers */
        ASK,
        /** log-probabilities of the candidate answers, as owl2j score */
        SCORE;

        static Task parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new Owl2jException("unknown --task '" + s + "': use caption, ask or score");
            }
        }
    }

    /**
     * Which model an executor loads; two tasks asking for equal keys share one engine. Mirrors the CLI's model
     * options (--model, --backend, --device, --quant, --threads).
     */
    public record ModelKey(String model, String backend, int device, String quant, Integer threads) implements Serializable {}

    public BatchSettings {
        candidates = candidates == null ? List.of() : List.copyOf(candidates);
        if (maxBatch < 1) throw new Owl2jException("--max-batch must be at least 1, got " + maxBatch);
        if (minNewTokens < 0) throw new Owl2jException("--min-new-tokens must be at least 0, got " + minNewTokens);
        if (task == Task.SCORE) {
            if (candidates.isEmpty()) throw new Owl2jException("--task score needs at least one --candidate");
            for (String c : candidates) {
                if (c.isEmpty()) throw new Owl2jException("a --candidate is empty");
            }
        } else if (!candidates.isEmpty()) {
            throw new Owl2jException("--candidate is for --task score only");
        }
        AspectMode.parse(aspect);
        // checks temperature, top-k, top-p and the token limit the way the CLI does
        new SamplingParams(temperature, topK, topP == null ? 1 : topP, seed, maxNewTokens, List.of());
    }

    AspectMode aspectMode() {
        return AspectMode.parse(aspect);
    }
}
