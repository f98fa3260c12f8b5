package dev.owl2j.bench;

import dev.owl2j.runtime.engine.Engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One batched decode step ({@link Engine#stepBatch}) of the synthetic 7B model for B sessions, without the HTTP
 * server around it: the kernel-bound part of ServerLoadBench's "decode tok/s".
 * Session s is prefilled with {@code context - 6 + s % 6} prompt positions (context 8 by default), so the step's
 * attention spans about that many cached positions.
 * <pre>java ... dev.owl2j.bench.DecodeStepBench [--quant q4_0] [--batches 1,4,16] [--steps 3] [--context 8]</pre>
 */
public final class DecodeStepBench {
    private DecodeStepBench() {}

    public static void main(String[] args) {
        String quant = "q4_0";
        int[] batches = {1, 4, 16};
        int steps = 3;
        int context = 8;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quant" -> quant = args[++i];
                case "--batches" -> batches = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--context" -> context = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: DecodeStepBench [--quant q8_0|q4_0] [--batches 1,4,16] [--steps N] [--context N]");
                    System.exit(2);
                }
            }
        }
        Engine engine = BenchModels.synthetic7b(quant).engine();
        int[] prompt = new int[Math.max(8, context)];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = i == 0 ? 1 : 400 + (i * 7919) % 30000;
        }
        System.out.println("batch  ms/step  decode tok/s");
        for (int b : batches) {
            List<Engine.Session> sessions = new ArrayList<>();
            for (int s = 0; s < b; s++) {
                Engine.Session session = engine.newSession();
                session.prefill(java.util.Arrays.copyOf(prompt, prompt.length - 6 + s % 6), List.of());
                sessions.add(session);
            }
            int[] tokens = new int[b];
            java.util.Arrays.fill(tokens, 29871);
            engine.stepBatch(sessions, tokens); // warm-up
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                engine.stepBatch(sessions, tokens);
            }
            double ms = (System.nanoTime() - t0) / 1e6 / steps;
            System.out.printf(Locale.ROOT, "%5d  %7.1f  %12.2f%n", b, ms, b * 1000 / ms);
            for (Engine.Session s : sessions) s.close();
        }
        engine.close();
    }
}
