package dev.owl2j.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The output table: the input's kept columns (the id first), then the task's result columns and {@code error}.
 * A row that failed has null results and the one-line message in {@code error}; a row that succeeded has a null
 * {@code error}. Times are milliseconds and are the only columns that differ between two runs of a job.
 */
final class Outputs {
    private Outputs() {}

    static final StructType SCORE = new StructType(new StructField[]{
            DataTypes.createStructField("candidate", DataTypes.StringType, false),
            DataTypes.createStructField("logprob", DataTypes.DoubleType, false),
            DataTypes.createStructField("token_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            DataTypes.createStructField("token_logprobs", DataTypes.createArrayType(DataTypes.DoubleType, false), false),
    });

    /** The result columns of a task, after the kept columns. */
    static List<StructField> resultFields(BatchSettings.Task task) {
        List<StructField> f = new ArrayList<>();
        if (task == BatchSettings.Task.SCORE) {
            f.add(DataTypes.createStructField("scores", DataTypes.createArrayType(SCORE, false), true));
        } else {
            f.add(DataTypes.createStructField("answer", DataTypes.StringType, true));
            f.add(DataTypes.createStructField("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), true));
            f.add(DataTypes.createStructField("finish_reason", DataTypes.StringType, true));
        }
        f.add(DataTypes.createStructField("prompt_positions", DataTypes.IntegerType, true));
        f.add(DataTypes.createStructField("encode_ms", DataTypes.DoubleType, true));
        f.add(DataTypes.createStructField(task == BatchSettings.Task.SCORE ? "score_ms" : "prefill_ms", DataTypes.DoubleType, true));
        if (task != BatchSettings.Task.SCORE) {
            f.add(DataTypes.createStructField("decode_ms", DataTypes.DoubleType, true));
        }
        f.add(DataTypes.createStructField("error", DataTypes.StringType, true));
        return f;
    }

    static StructType schema(StructType kept, BatchSettings.Task task) {
        List<StructField> all = new ArrayList<>(Arrays.asList(kept.fields()));
        all.addAll(resultFields(task));
        return new StructType(all.toArray(StructField[]::new));
    }

    /** The kept columns of an input row (they follow key, image and prompt), then {@code results}. */
    static Row row(Row input, Object... results) {
        int kept = input.length() - 3;
        Object[] v = new Object[kept + results.length];
        for (int i = 0; i < kept; i++) v[i] = input.get(3 + i);
        System.arraycopy(results, 0, v, kept, results.length);
        return RowFactory.create(v);
    }

    static Integer[] boxed(int[] a) {
        Integer[] b = new Integer[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }

    static Double[] boxed(double[] a) {
        Double[] b = new Double[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }

    /** One line: what a row's error column holds. */
    static String message(Throwable e) {
        String m = e instanceof dev.owl2j.model.Owl2jException ? e.getMessage() : "internal error: " + e;
        if (m == null) m = e.getClass().getSimpleName();
        return m.replaceAll("[\\r\\n]+", " ").strip();
    }
}
