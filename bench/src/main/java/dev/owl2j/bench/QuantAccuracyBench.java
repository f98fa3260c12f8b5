package dev.owl2j.bench;

import dev.owl2j.model.Settings;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.LogitAgreement;
import dev.owl2j.runtime.engine.BenchEngines;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Sampler;
import dev.owl2j.runtime.synthetic.SyntheticWeights;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The quantized decoders' accuracy on the synthetic 7B, as QuantizedAccuracyTest measures it on the fixture: the
 * release's shapes with random F16 weights (the same seed for every model), and the decoder's projections quantized
 * at load to Q8_0 and Q4_0 as a real F16 checkpoint loaded with {@code --quant} is (Q4_0 also row-major with x in
 * float, as the fixture's table has it). Each prompt (BOS and random
 * text tokens) is prefilled, then stepped greedily with the F16 model's tokens fed to every model (teacher forcing);
 * the logits of every position are compared with the F16 model's (LogitAgreement). The models run one after the
 * other so that only one is in memory: the F16 one holds 15 GiB.
 * <pre>java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g -cp bench/target/benchmarks.jar \
 *     dev.owl2j.bench.QuantAccuracyBench [--prompts 3] [--positions 60] [--steps 8]</pre>
 */
public final class QuantAccuracyBench {
    private QuantAccuracyBench() {}

    public static void main(String[] args) {
        int prompts = 3;
        int positions = 60;
        int steps = 8;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--prompts" -> prompts = Integer.parseInt(args[++i]);
                case "--positions" -> positions = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: QuantAccuracyBench [--prompts N] [--positions N] [--steps N]");
                    System.exit(2);
                }
            }
        }
        Owl2Config cfg = Owl2Config.parse("{}"); // the defaults are the release's config
        SplittableRandom rnd = new SplittableRandom(21);
        int[][] ids = new int[prompts][positions];
        for (int[] p : ids) {
            p[0] = 1;
            for (int i = 1; i < positions; i++) p[i] = 3 + rnd.nextInt(31_000);
        }
        float[][][] reference = new float[prompts][steps][];
        int[][] forced = new int[prompts][steps];
        long t0 = System.nanoTime();
        run(cfg, null, true, ids, steps, (p, s, logits) -> {
            reference[p][s] = logits;
            forced[p][s] = Sampler.argmax(logits);
            return forced[p][s];
        });
        System.out.printf(Locale.ROOT, "F16 reference: %d prompts of %d positions + %d steps in %.0f s%n", prompts, positions,
                steps - 1, (System.nanoTime() - t0) / 1e9);
        boolean int16 = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() == 512 && Settings.fromSystem().int16Prefill();
        String[] names = {"Q8_0 (row tiles, x in float)", "Q4_0 row-major, x in float",
                "Q4_0 (row tiles, x as Q8_0" + (int16 ? " in prefill and decode)" : " in decode, float in prefill)")};
        DType[] quants = {DType.Q8_0, DType.Q4_0, DType.Q4_0};
        boolean[] tiles = {true, false, true};
        for (int m = 0; m < names.length; m++) {
            LogitAgreement agreement = new LogitAgreement();
            run(cfg, quants[m], tiles[m], ids, steps, (p, s, logits) -> {
                agreement.add(reference[p][s], logits);
                return forced[p][s];
            });
            System.out.println("[quantized accuracy, synthetic 7B, " + prompts + " text prompts of " + positions + " positions x "
                    + steps + " positions] " + agreement.format(names[m]));
        }
    }

    /** Receives position s of prompt p's logits and returns the token to step with next. */
    private interface Consumer {
        int accept(int prompt, int step, float[] logits);
    }

    /**
     * Prefills every prompt on the model (decoder projections in quant, or F16 when null; Q4_0 and Q8_0 in row tiles
     * or row-major), then steps.
     */
    private static void run(Owl2Config cfg, DType quant, boolean tiles, int[][] ids, int steps, Consumer consumer) {
        try (SyntheticWeights weights = SyntheticWeights.forConfig(cfg, null, 1)) {
            Engine engine = BenchEngines.cpuQuantizedAtLoad(weights, cfg, quant, tiles, Settings.fromSystem());
            try {
                for (int p = 0; p < ids.length; p++) {
                    try (Engine.Session session = engine.newSession()) {
                        float[] logits = session.prefill(ids[p], List.of());
                        for (int s = 0; s < steps; s++) {
                            int next = consumer.accept(p, s, logits);
                            if (s + 1 < steps) {
                                logits = session.step(next);
                            }
                        }
                    }
                }
            } finally {
                engine.close();
            }
        }
    }
}
