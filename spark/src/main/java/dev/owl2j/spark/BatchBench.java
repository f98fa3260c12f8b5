package dev.owl2j.spark;

import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.config.PreprocessorConfig;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tokenizer.DefaultTokenizerBuilder;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.model.Settings;
import dev.owl2j.runtime.engine.BenchEngines;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.synthetic.SyntheticWeights;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Rows per second of owl2j batch on the synthetic 7B (the release's shapes, random weights made in memory, CPU
 * engine), in Spark local mode, with the work per row of the server's load benchmark (bench/ServerLoadBench): the
 * prompt "Describe a sunny beach in a few words." through the chat template, no image (--image: the same image
 * in every row, its visual tokens first), greedy, exactly
 * --max-new-tokens tokens (EOS masked until then, as that benchmark ignores EOS). One partition of --rows rows,
 * decoded --max-batch at a time, so 16 rows with --max-batch 16 are the server's 16 concurrent clients.
 *
 * <pre>java ... -cp spark/target/owl2j-spark.jar:spark/target/lib/* dev.owl2j.spark.BatchBench [--quant q4_0] [--rows 16] [--max-new-tokens 48] [--max-batch 16] [--master local[2]] [--image FILE]</pre>
 */
public final class BatchBench {
    private BatchBench() {}

    public static void main(String[] args) throws Exception {
        String quant = "q4_0";
        int rows = 16;
        int maxNew = 48;
        int maxBatch = 16;
        String master = "local[2]";
        String image = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quant" -> quant = args[++i];
                case "--rows" -> rows = Integer.parseInt(args[++i]);
                case "--max-new-tokens" -> maxNew = Integer.parseInt(args[++i]);
                case "--max-batch" -> maxBatch = Integer.parseInt(args[++i]);
                case "--master" -> master = args[++i];
                case "--image" -> image = Path.of(args[++i]).toAbsolutePath().toString();
                default -> {
                    System.err.println("usage: BatchBench [--quant q4_0|q8_0|none] [--rows N] [--max-new-tokens N] [--max-batch N] [--master local[2]] [--image FILE]");
                    System.exit(2);
                }
            }
        }
        Owl2Config cfg = Owl2Config.parse("{}"); // the defaults are the release's config
        DType q = ModelOptions.parseQuant(quant);
        long t0 = System.nanoTime();
        SyntheticWeights weights = SyntheticWeights.forConfig(cfg, q, 1);
        Engine engine = BenchEngines.cpu(weights, cfg, "synthetic 7B, " + (q == null ? "F16" : q + " decoder"), Settings.fromSystem(), null);
        Path dir = Files.createTempDirectory("owl2j-batch-bench");
        Path tok = dir.resolve("tokenizer.json");
        DefaultTokenizerBuilder.write(cfg.vocabSize(), tok);
        BatchSettings.ModelKey key = new BatchSettings.ModelKey("synthetic-7b", "cpu", 0, quant, null);
        ExecutorModels.register(key, BatchModel.of("synthetic-7b", engine, Tokenizer.load(tok),
                new ImagePreprocessor(PreprocessorConfig.clip448()), GenerationConfig.defaults()));
        System.out.printf(Locale.ROOT, "model synthetic-7b (%s) built in %.1f s; %d rows, %d tokens each, max batch %d, %s, %d cores%n",
                engine.description(), (System.nanoTime() - t0) / 1e9, rows, maxNew, maxBatch, master, Runtime.getRuntime().availableProcessors());

        SparkSession spark = SparkSession.builder().master(master).appName("owl2j batch bench")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            StructType schema = new StructType().add("id", DataTypes.StringType).add("image", DataTypes.StringType)
                    .add("prompt", DataTypes.StringType);
            List<Row> table = new ArrayList<>();
            for (int i = 0; i < rows; i++) table.add(RowFactory.create(String.format("row%05d", i), image, "Describe a sunny beach in a few words."));
            String input = dir.resolve("input.parquet").toString();
            spark.createDataFrame(table, schema).write().parquet(input);
            BatchSettings settings = new BatchSettings(BatchSettings.Task.ASK, key, null, false, List.of(), maxNew, maxNew, 0, 50, null,
                    0, "pad", maxBatch);
            BatchJob.Summary s = BatchJob.run(spark, settings, new BatchJob.Io(input, "parquet", dir.resolve("output").toString(), "parquet",
                    "id", "image", "prompt", List.of(), 1), System.out);
            double decodeSeconds = spark.read().parquet(dir.resolve("output").toString())
                    .selectExpr("max(decode_ms)").first().getDouble(0) / 1e3;
            System.out.printf(Locale.ROOT, "rows %d (errors %d) in %.1f s: %.3f rows/s, %.2f generated tokens/s (prefills included), longest row decode %.1f s%n",
                    s.rows(), s.errors(), s.seconds(), s.rowsPerSecond(), s.rows() * (double) maxNew / s.seconds(), decodeSeconds);
        } finally {
            spark.stop();
            engine.close();
        }
    }
}
