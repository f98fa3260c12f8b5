package dev.owl2j.kernels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times every model kernel compiled from Java against the hand-written OpenCL C it replaced, on the first OpenCL
 * device, at KernelBench's 7B shapes with the same launches (the Java kernels keep the C kernels' parameters).
 * Not a test: run by hand (docs/kernels.md, "Speed") with the C source of the commit before the C was deleted:
 * <pre>
 *   java ... dev.owl2j.kernels.CVersusJava portable.h ops.cl [rounds] [min-launches-per-round] [names,to,match or -] [prefill] [vision-tokens]
 * </pre>
 * prefill and vision-tokens shrink the two token counts of the 7B shapes (default 256 and 1025) so the slowest
 * kernels (prefill matmul, vision attention) take seconds rather than minutes on a CPU device; the other
 * dimensions stay the 7B model's.
 * The machine is shared and noisy, so C and Java alternate within every round (which goes first alternates too);
 * the per-launch time of each is the median over rounds, and the ratio is the median over rounds of each round's
 * Java / C, so that a load that changes between rounds cancels out of the ratio. A round launches a kernel often
 * enough to take at least 50 ms (at most 50 times), so short kernels are not measured one scheduler tick at a time.
 */
public final class CVersusJava {
    /** linearSelectQ8_0 -> linear_select_q8_0, siluMul -> silu_mul (the C kernels' names). */
    static String cName(String java) {
        for (String suffix : new String[]{"BF16", "F32", "F16", "Q8_0", "Q4_0"}) {
            if (java.endsWith(suffix)) return snake(java.substring(0, java.length() - suffix.length())) + "_" + suffix.toLowerCase(Locale.ROOT);
        }
        return snake(java);
    }

    private static String snake(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (Character.isUpperCase(c)) b.append('_').append(Character.toLowerCase(c));
            else b.append(c);
        }
        return b.toString();
    }

    public static void main(String[] args) throws Exception {
        String source = Files.readString(Path.of(args[0])) + "\n#line 1\n" + Files.readString(Path.of(args[1]));
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 9;
        int minLaunches = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        String filter = args.length > 4 ? args[4] : "";
        KernelBench.Shapes s7 = KernelBench.Shapes.LLAMA_7B;
        int prefill = args.length > 5 ? Integer.parseInt(args[5]) : s7.prefill();
        int vision = args.length > 6 ? Integer.parseInt(args[6]) : s7.visionTokens();
        KernelBench.Shapes shapes = new KernelBench.Shapes(s7.hidden(), s7.heads(), s7.headDim(), s7.inter(), s7.vocab(), prefill,
                s7.decodePosition(), vision, s7.visionHidden(), s7.visionHeads(), s7.visionMlp());
        Pocl.useTempCache();
        ComputeContext ctx = Devices.get(Api.OPENCL, 0).open();
        Kernels java = Kernels.load(ctx);
        Kernels c = Kernels.over(ctx, ctx.compile("ops-c", source, ""), CVersusJava::cName);
        System.out.println("device: " + ctx.device().describe() + ", " + ctx.device().driver());
        System.out.println("| kernel | shape | C ms | Java ms | Java / C |");
        System.out.println("|---|---|---|---|---|");
        List<Double> ratios = new ArrayList<>();
        for (KernelBench.Case k : KernelBench.cases(shapes)) {
            if (!filter.equals("-") && Arrays.stream(filter.split(",")).noneMatch(k.name()::contains)) continue;
            try (KernelBench.Prepared p = k.prepare().apply(ctx)) {
                Launch lc = p.launch(c), lj = p.launch(java);
                time(ctx, lc, 1);
                double one = time(ctx, lj, 1);
                int launches = (int) Math.max(minLaunches, Math.min(50, Math.ceil(50 / Math.max(one, 1e-3))));
                double[] tc = new double[rounds], tj = new double[rounds], ratio = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    if (r % 2 == 0) {
                        tc[r] = time(ctx, lc, launches);
                        tj[r] = time(ctx, lj, launches);
                    } else {
                        tj[r] = time(ctx, lj, launches);
                        tc[r] = time(ctx, lc, launches);
                    }
                    ratio[r] = tj[r] / tc[r];
                }
                double mc = median(tc), mj = median(tj), mr = median(ratio);
                ratios.add(mr);
                System.out.printf(Locale.ROOT, "| %s | %s | %.3f | %.3f | %.2f |%n", k.name(), k.shape(), mc, mj, mr);
            }
        }
        System.out.printf(Locale.ROOT, "worst Java / C: %.2f%n", ratios.stream().mapToDouble(Double::doubleValue).max().orElse(0));
        ctx.close();
    }

    private static double time(ComputeContext ctx, Launch l, int n) {
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) ctx.launch(l);
        ctx.finish();
        return (System.nanoTime() - t0) / 1e6 / n;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
