package dev.owl2j.spark;

import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ModelOptions;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models of this JVM (an executor, or the driver in local mode): each is loaded on the first task that asks
 * for it and then shared by every later task, so an executor reads the weights once (memory-mapped: the page
 * cache holds one copy) however many partitions it runs. Models stay loaded until the JVM exits.
 */
public final class ExecutorModels {
    private static final Map<BatchSettings.ModelKey, BatchModel> MODELS = new HashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ExecutorModels() {}

    /** The model for {@code key}, loaded now if this JVM has not loaded it yet. */
    static synchronized BatchModel get(BatchSettings.ModelKey key) {
        BatchModel m = MODELS.get(key);
        if (m == null) {
            m = BatchModel.of(LoadedModel.open(options(key), null));
            LOADS.incrementAndGet();
            MODELS.put(key, m);
        }
        return m;
    }

    /**
     * Makes {@code model} the one tasks get for {@code key} in this JVM, without loading anything: for benchmarks
     * that build an engine in memory (local mode only, where the tasks run in this JVM).
     */
    public static synchronized void register(BatchSettings.ModelKey key, BatchModel model) {
        MODELS.put(key, model);
    }

    /** How many models this JVM has loaded from files (tests: once per executor JVM). */
    public static int loads() {
        return LOADS.get();
    }

    private static ModelOptions options(BatchSettings.ModelKey key) {
        ModelOptions o = new ModelOptions();
        o.model = key.model();
        o.backend = key.backend();
        o.device = key.device();
        o.quant = key.quant();
        o.threads = key.threads();
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        if (o.threads == null && env != null && !env.conf().get("spark.master", "").startsWith("local")
                && env.conf().contains("spark.executor.cores")) {
            // the engine's threads fill the cores Spark gave this executor, not the whole machine it shares
            o.threads = env.conf().getInt("spark.executor.cores", 1);
        }
        return o;
    }
}
