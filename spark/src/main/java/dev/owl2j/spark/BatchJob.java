package dev.owl2j.spark;

import dev.owl2j.model.Owl2jException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegralType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * The Spark side of owl2j batch, on the driver: reads the input table, puts its rows into partitions by their id
 * (so that the answers do not depend on how the input was split, docs/batch.md, Determinism), runs each
 * partition through the executor's engine and writes the output table.
 */
public final class BatchJob {
    /** Rows per partition when --partitions is not given: enough that a partition keeps a batch full. */
    static final int ROWS_PER_PARTITION = 256;

    /**
     * Where the rows come from and where they go. {@code inputFormat}: auto, parquet, json, csv or images (a
     * folder of image files: id and image are each file's path); {@code keep}: more input columns copied to the
     * output after the id; {@code partitions}: 0 for one per {@value #ROWS_PER_PARTITION} rows.
     */
    public record Io(String input, String inputFormat, String output, String outputFormat, String idColumn,
                     String imageColumn, String promptColumn, List<String> keep, int partitions) {
        public Io {
            keep = keep == null ? List.of() : List.copyOf(keep);
            if (!outputFormat.equals("parquet") && !outputFormat.equals("json")) {
                throw new Owl2jException("unknown --format '" + outputFormat + "': use parquet or json");
            }
            if (partitions < 0) throw new Owl2jException("--partitions must be at least 1, got " + partitions);
        }
    }

    /** What a job did: rows written, rows whose error column is set, the wall time of the decoding job. */
    public record Summary(long rows, long errors, double seconds) {
        public double rowsPerSecond() {
            return seconds > 0 ? rows / seconds : 0;
        }
    }

    private BatchJob() {}

    public static Summary run(SparkSession spark, BatchSettings settings, Io io, PrintStream progress) {
        checkOutputFree(spark, io.output());
        Dataset<Row> table = normalized(read(spark, io), settings, io);
        long total = table.count();
        int partitions = io.partitions() > 0 ? io.partitions() : (int) Math.max(1, (total + ROWS_PER_PARTITION - 1) / ROWS_PER_PARTITION);
        // Partitions by id and sorted within: which rows share a partition, and in which order the batch meets
        // them, is a function of the rows themselves.
        Dataset<Row> placed = table.repartition(partitions, col("__key"))
                .sortWithinPartitions(col("__key"), col("__prompt"), col("__image"));
        StructType kept = new StructType(Arrays.copyOfRange(table.schema().fields(), 3, table.schema().fields().length));
        StructType schema = Outputs.schema(kept, settings.task());
        LongAccumulator done = spark.sparkContext().longAccumulator("owl2j rows done");
        LongAccumulator failed = spark.sparkContext().longAccumulator("owl2j rows failed");
        Dataset<Row> out = placed.mapPartitions(new Partition(settings, done, failed), Encoders.row(schema));
        Progress listener = new Progress(done.id(), total, progress);
        spark.sparkContext().addSparkListener(listener);
        long t0 = System.nanoTime();
        try {
            var writer = out.write().mode("errorifexists");
            if (io.outputFormat().equals("json")) writer.json(io.output());
            else writer.parquet(io.output());
        } finally {
            spark.sparkContext().removeSparkListener(listener);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        listener.finish(done.value(), seconds);
        return new Summary(done.value(), failed.value(), seconds);
    }

    /** Runs on the executors: one partition's rows through this JVM's engine. */
    static final class Partition implements MapPartitionsFunction<Row, Row> {
        private final BatchSettings settings;
        private final LongAccumulator done;
        private final LongAccumulator failed;

        Partition(BatchSettings settings, LongAccumulator done, LongAccumulator failed) {
            this.settings = settings;
            this.done = done;
            this.failed = failed;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            BatchModel model = ExecutorModels.get(settings.model());
            Iterator<Row> results;
            if (settings.task() == BatchSettings.Task.SCORE) {
                results = new PartitionScorer(rows, settings, model, done::add);
            } else {
                PartitionDecoder decoder = new PartitionDecoder(rows, settings, model, done::add);
                TaskContext task = TaskContext.get();
                if (task != null) {
                    task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> decoder.close());
                }
                results = decoder;
            }
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return results.hasNext();
                }

                @Override
                public Row next() {
                    Row r = results.next();
                    if (!r.isNullAt(r.length() - 1)) failed.add(1);
                    return r;
                }
            };
        }
    }

    /** The input as Spark reads it, before the columns are chosen. */
    static Dataset<Row> read(SparkSession spark, Io io) {
        String format = io.inputFormat().equals("auto") ? detectFormat(spark, io.input()) : io.inputFormat();
        return switch (format) {
            case "parquet" -> spark.read().parquet(io.input());
            case "json" -> spark.read().json(io.input());
            case "csv" -> spark.read().option("header", "true").option("mode", "PERMISSIVE").csv(io.input());
            case "images" -> spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(io.input())
                    .where(col("path").rlike("(?i)\\.(png|jpe?g|gif|bmp|webp|tiff?)$"))
                    .select(col("path").as(io.idColumn()), col("path").as(io.imageColumn()));
            default -> throw new Owl2jException("unknown --input-format '" + format + "': use parquet, json, csv or images");
        };
    }

    /**
     * From the name: *.parquet, *.json/*.jsonl, *.csv; a folder holding such files (a Spark output) is read as
     * that format, any other folder as images.
     */
    static String detectFormat(SparkSession spark, String input) {
        String byName = formatOfName(input);
        if (byName != null) return byName;
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(input);
        try {
            org.apache.hadoop.fs.FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(p)) throw new Owl2jException("--input " + input + " does not exist");
            if (!fs.getFileStatus(p).isDirectory()) {
                throw new Owl2jException("cannot tell the format of --input " + input + " from its name: give --input-format parquet, json or csv");
            }
            for (org.apache.hadoop.fs.FileStatus f : fs.listStatus(p)) {
                String f2 = formatOfName(f.getPath().getName());
                if (f2 != null) return f2;
            }
            return "images";
        } catch (IOException e) {
            throw new Owl2jException("cannot read --input " + input + ": " + e.getMessage(), e);
        }
    }

    private static String formatOfName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.endsWith(".parquet")) return "parquet";
        if (n.endsWith(".json") || n.endsWith(".jsonl")) return "json";
        if (n.endsWith(".csv")) return "csv";
        return null;
    }

    private static void checkOutputFree(SparkSession spark, String output) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(output);
        try {
            if (p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p)) {
                throw new Owl2jException("--output " + output + " already exists: name a new folder");
            }
        } catch (IOException e) {
            throw new Owl2jException("cannot check --output " + output + ": " + e.getMessage(), e);
        }
    }

    /**
     * Columns __key (the id as text), __image (path/URI text or bytes), __prompt (text, ids or null), then the
     * kept columns (the id first, as it was), checked against what the task needs.
     */
    static Dataset<Row> normalized(Dataset<Row> in, BatchSettings settings, Io io) {
        StructType schema = in.schema();
        List<String> names = Arrays.asList(schema.fieldNames());
        String have = String.join(", ", names);
        if (!names.contains(io.idColumn())) {
            throw new Owl2jException("the input has no column '" + io.idColumn() + "' (it has " + have + "): name the id column with --id-column");
        }
        if (!names.contains(io.imageColumn())) {
            throw new Owl2jException("the input has no column '" + io.imageColumn() + "' (it has " + have + "): name the image column with --image-column");
        }
        DataType imageType = schema.apply(io.imageColumn()).dataType();
        if (!(imageType instanceof StringType) && !(imageType instanceof BinaryType)) {
            throw new Owl2jException("column '" + io.imageColumn() + "' is " + imageType.simpleString() + ": images are paths/URIs (string) or bytes (binary)");
        }
        Column prompt = lit(null).cast(DataTypes.StringType);
        if (settings.task() != BatchSettings.Task.CAPTION && settings.prompt() == null) {
            if (!names.contains(io.promptColumn())) {
                throw new Owl2jException("the input has no column '" + io.promptColumn() + "' (it has " + have
                        + "): give --prompt for every row, or name the prompt column with --prompt-column");
            }
            DataType t = schema.apply(io.promptColumn()).dataType();
            if (t instanceof StringType) {
                prompt = col(io.promptColumn());
            } else if (t instanceof ArrayType a && a.elementType() instanceof IntegralType) {
                prompt = col(io.promptColumn()).cast(DataTypes.createArrayType(DataTypes.IntegerType));
            } else {
                throw new Owl2jException("column '" + io.promptColumn() + "' is " + t.simpleString() + ": prompts are text or arrays of token ids");
            }
        }
        List<Column> cols = new ArrayList<>(List.of(col(io.idColumn()).cast(DataTypes.StringType).as("__key"),
                col(io.imageColumn()).as("__image"), prompt.as("__prompt"), col(io.idColumn())));
        List<String> reserved = Outputs.resultFields(settings.task()).stream().map(StructField::name).toList();
        for (String k : io.keep()) {
            if (!names.contains(k)) throw new Owl2jException("--keep: the input has no column '" + k + "' (it has " + have + ")");
            if (reserved.contains(k)) throw new Owl2jException("--keep: column '" + k + "' would clash with the output column of that name");
            if (!k.equals(io.idColumn())) cols.add(col(k));
        }
        if (reserved.contains(io.idColumn())) {
            throw new Owl2jException("the id column '" + io.idColumn() + "' would clash with the output column of that name");
        }
        return in.select(cols.toArray(Column[]::new));
    }
}
