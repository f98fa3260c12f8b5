package dev.owl2j.model;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Every setting Owl2J reads from system properties ({@code -Downl2j.*}) and environment variables, read in this
 * one place and handed on explicitly. The table in docs/architecture.md (Settings) lists each with its default.
 * A value that does not parse is an {@link Owl2jException} naming the setting, never silently the default.
 *
 * <p>The CPU kernels' tuning switches ({@code panelCols} to {@code hugePages}), the KV cache budget and reservation are
 * process-wide: the kernels read them into constants the JIT folds, so they take {@link #fromSystem()} once when
 * their classes load. Everything else is passed to the engine, loader or server that uses it.
 *
 * @param threads            CPU threads in all, the caller included ({@code owl2j.threads}; {@code --threads})
 * @param kvCacheBytes       bytes all KV caches of the process may hold ({@code owl2j.kvCacheGiB})
 * @param prefillChunk       prompt positions per CPU decoder pass ({@code owl2j.prefillChunk})
 * @param streamingAttention cached positions from which CPU decode attention streams the cache row by row
 *                           ({@code owl2j.streamingAttention})
 * @param panelCols          CPU matrices with more columns are stored as column panels ({@code owl2j.panelCols})
 * @param matmulBlocked      most rows the CPU's blocked batched-decode kernel takes ({@code owl2j.matmulBlocked}; 0 = off)
 * @param blockK             K tile of that kernel ({@code owl2j.blockK})
 * @param touch              that kernel reads each chunk front to back first ({@code owl2j.noTouch} turns it off)
 * @param alignX             X rows copied onto 64-byte boundaries for 512-bit kernels ({@code owl2j.noAlignX} turns it off)
 * @param q4Tiles            Q4_0 matrices repacked into row tiles with the integer kernels ({@code owl2j.noQ4Tiles}
 *                           keeps them row-major with the float kernels)
 * @param q8Tiles            Q8_0 matrices repacked into row tiles ({@code owl2j.noQ8Tiles} keeps them row-major)
 * @param int16Prefill       Q4_0 prefill with 16-bit integer products and x quantized to Q8_0, where vectors are
 *                           512-bit ({@code owl2j.int16Prefill}, on; {@code =false} keeps x in float with the
 *                           float outer-product kernel)
 * @param hugePages          CPU weight tiles, panels and KV caches in 2 MiB pages where Linux lends them
 *                           ({@code owl2j.hugePages}, on; {@code =false} keeps the JDK's ordinary allocation)
 * @param kvReserve          CPU KV caches reserve address space for the whole context, take memory only where rows
 *                           are written and hand it to the next cache when closed, where Linux lends address space
 *                           ({@code owl2j.kvReserve}, on; {@code =false} allocates the capacity and copies on growth)
 * @param smallMatrixCols    CPU float matrices with rows shorter than this, or fewer weights than its square, take
 *                           plain Java loops instead of the Vector API kernels ({@code owl2j.smallMatrixCols}; 0 = the
 *                           Vector API kernels for every matrix)
 * @param tensorCores        CUDA prefill may use tensor cores with F16-rounded activations ({@code owl2j.tensorCores})
 * @param home               where models are generated and pulled ({@code owl2j.cacheHome}, else {@code $OWL2J_HOME},
 *                           else {@code ~/.cache/owl2j})
 * @param prefillBudget      prompt positions the server prefills per scheduler step ({@code owl2j.prefillBudget})
 */
public record Settings(int threads, long kvCacheBytes, int prefillChunk, int streamingAttention, int panelCols,
                       int matmulBlocked, int blockK, boolean touch, boolean alignX, boolean q4Tiles, boolean q8Tiles,
                       boolean int16Prefill, boolean hugePages, boolean kvReserve, int smallMatrixCols,
                       boolean tensorCores, Path home, int prefillBudget) {
    private static final double GIB = 1024.0 * 1024 * 1024;

    /** The settings of this process: its system properties and environment, read now. */
    public static Settings fromSystem() {
        return fromSystem(System.getenv());
    }

    /** The settings of this process's system properties with {@code env} as the environment (commands under test). */
    public static Settings fromSystem(Map<String, String> env) {
        Map<String, String> props = new HashMap<>();
        Properties p = System.getProperties();
        for (String name : p.stringPropertyNames()) props.put(name, p.getProperty(name));
        return read(props, env);
    }

    /** The settings these properties and this environment give (tests pass their own maps). */
    public static Settings read(Map<String, String> props, Map<String, String> env) {
        int threads = intSetting(props, "owl2j.threads", Runtime.getRuntime().availableProcessors(), 1);
        String gib = props.get("owl2j.kvCacheGiB");
        long kvCacheBytes;
        if (gib != null) {
            double v = parseDouble("owl2j.kvCacheGiB", gib);
            if (!(v > 0)) throw new Owl2jException("owl2j.kvCacheGiB must be above 0, got " + gib);
            kvCacheBytes = (long) (v * GIB);
        } else {
            kvCacheBytes = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                    ? os.getTotalMemorySize() / 2 : Long.MAX_VALUE; // the rest is for the weights, the heap and the system
        }
        return new Settings(threads, kvCacheBytes,
                intSetting(props, "owl2j.prefillChunk", 256, 1),
                intSetting(props, "owl2j.streamingAttention", 256, 0),
                intSetting(props, "owl2j.panelCols", 4096, 0),
                intSetting(props, "owl2j.matmulBlocked", 24, 0),
                intSetting(props, "owl2j.blockK", 512, 1),
                !flag(props, "owl2j.noTouch", false),
                !flag(props, "owl2j.noAlignX", false),
                !flag(props, "owl2j.noQ4Tiles", false),
                !flag(props, "owl2j.noQ8Tiles", false),
                flag(props, "owl2j.int16Prefill", true),
                flag(props, "owl2j.hugePages", true),
                flag(props, "owl2j.kvReserve", true),
                intSetting(props, "owl2j.smallMatrixCols", 256, 0),
                flag(props, "owl2j.tensorCores", true),
                home(props, env),
                intSetting(props, "owl2j.prefillBudget", 512, 1));
    }

    /** These settings with another thread count ({@code --threads}). */
    public Settings withThreads(int n) {
        if (n < 1) throw new Owl2jException("--threads must be at least 1, got " + n);
        return new Settings(n, kvCacheBytes, prefillChunk, streamingAttention, panelCols, matmulBlocked, blockK, touch, alignX,
                q4Tiles, q8Tiles, int16Prefill, hugePages, kvReserve, smallMatrixCols, tensorCores, home, prefillBudget);
    }

    private static Path home(Map<String, String> props, Map<String, String> env) {
        String prop = props.get("owl2j.cacheHome");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        String dir = env.get("OWL2J_HOME");
        if (dir != null && !dir.isBlank()) return Path.of(dir);
        return Path.of(props.getOrDefault("user.home", System.getProperty("user.home")), ".cache", "owl2j");
    }

    private static int intSetting(Map<String, String> props, String name, int dflt, int min) {
        String v = props.get(name);
        if (v == null) return dflt;
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new Owl2jException(name + " must be an integer, got '" + v + "'");
        }
        if (n < min) throw new Owl2jException(name + " must be at least " + min + ", got " + n);
        return n;
    }

    private static boolean flag(Map<String, String> props, String name, boolean dflt) {
        String v = props.get(name);
        if (v == null) return dflt;
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "", "true" -> true;
            case "false" -> false;
            default -> throw new Owl2jException(name + " must be true or false, got '" + v + "'");
        };
    }

    private static double parseDouble(String name, String v) {
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new Owl2jException(name + " must be a number, got '" + v + "'");
        }
    }
}
