package dev.owl2j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.checkpoint.ComputedBuffers;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.SimpleLinear;
import dev.owl2j.runtime.engine.CpuEngine;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.model.DefaultModel;
import dev.owl2j.runtime.synthetic.SyntheticWeights;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What continuous batching buys on the CPU: one decode step for B sessions through {@link Engine#stepBatch}
 * versus B single steps, on a synthetic decoder large enough that weight reads dominate (default hidden 1024,
 * MLP 2752, 4 layers, vocabulary 32000, F16: 250 MB of weights). Bounded: a few steps per batch size.
 *
 * <pre>java ... dev.owl2j.bench.BatchStepBench [--hidden 1024] [--layers 4] [--batches 1,4,16] [--steps 4]</pre>
 */
public final class BatchStepBench {
    public static void main(String[] args) throws Exception {
        int hidden = 1024;
        int layers = 4;
        int[] batches = {1, 4, 16};
        int steps = 4;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--hidden" -> hidden = Integer.parseInt(args[++i]);
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                case "--batches" -> batches = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: BatchStepBench [--hidden N] [--layers N] [--batches 1,4,16] [--steps N]");
                    System.exit(2);
                }
            }
        }
        Owl2Config cfg = config(hidden, layers);
        try (SyntheticWeights weights = SyntheticWeights.forConfig(cfg, null, 1L)) {
            Engine engine = new CpuEngine(ComputedBuffers.over(weights, cfg), cfg, SimpleLinear::new, "F16");
            System.out.printf(Locale.ROOT, "decoder hidden %d, MLP %d, %d layers, vocab %d, F16 weights %.0f MB; %s%n",
                    cfg.hiddenSize(), cfg.intermediateSize(), cfg.numHiddenLayers(), cfg.vocabSize(), weights.byteSize() / 1e6,
                    engine.description());
            int maxBatch = java.util.Arrays.stream(batches).max().orElse(1);
            List<Engine.Session> sessions = new ArrayList<>();
            for (int b = 0; b < maxBatch; b++) {
                Engine.Session s = engine.newSession();
                int[] prompt = new int[16 + b]; // different positions per session
                prompt[0] = 1;
                for (int t = 1; t < prompt.length; t++) prompt[t] = 300 + (t * 31 + b * 7) % 20000;
                s.prefill(prompt, List.of());
                sessions.add(s);
            }
            // warm-up both paths (JIT) at every batch size
            for (int b : batches) {
                int[] warm = new int[b];
                java.util.Arrays.fill(warm, 5);
                for (int s = 0; s < 2; s++) {
                    engine.stepBatch(sessions.subList(0, b), warm);
                    for (Engine.Session session : sessions.subList(0, b)) session.step(6);
                }
            }
            System.out.println("batch  stepBatch ms/step  tokens/s  |  B single steps ms  tokens/s  |  speed-up");
            for (int b : batches) {
                List<Engine.Session> batch = sessions.subList(0, b);
                int[] tokens = new int[b];
                java.util.Arrays.fill(tokens, 1000);
                long t0 = System.nanoTime();
                for (int s = 0; s < steps; s++) engine.stepBatch(batch, tokens);
                double batched = (System.nanoTime() - t0) / 1e6 / steps;
                t0 = System.nanoTime();
                for (int s = 0; s < steps; s++) {
                    for (Engine.Session session : batch) session.step(1000);
                }
                double single = (System.nanoTime() - t0) / 1e6 / steps;
                System.out.printf(Locale.ROOT, "%5d  %17.1f  %8.1f  |  %17.1f  %8.1f  |  %7.2fx%n",
                        b, batched, b * 1000 / batched, single, b * 1000 / single, single / batched);
            }
        }
    }

    /** The embedded default model's config with a bigger decoder (the vision side stays tiny). */
    static Owl2Config config(int hidden, int layers) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root;
        try (InputStream in = DefaultModel.class.getResourceAsStream("default-config.json")) {
            root = (ObjectNode) json.readTree(in);
        }
        root.put("hidden_size", hidden);
        root.put("intermediate_size", (int) (hidden * 2.6875));
        root.put("num_hidden_layers", layers);
        root.put("num_attention_heads", hidden / 64);
        root.put("num_key_value_heads", hidden / 64);
        return Owl2Config.parse(json.writeValueAsString(root));
    }
}
