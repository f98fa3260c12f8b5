package dev.owl2j.spark;

import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's progress line: rows done of the total and rows per second since the first task started. Running
 * tasks report their count of rows with each executor heartbeat (spark.executor.heartbeatInterval), finished
 * tasks with their end. A line is printed when the count changed, at most every five seconds (once a minute
 * while it stands still).
 */
final class Progress extends SparkListener {
    private static final long EVERY_NANOS = 5_000_000_000L;
    private static final long QUIET_NANOS = 60_000_000_000L;
    private final long accumulatorId;
    private final long total;
    private final PrintStream out;
    /** rows counted by finished tasks, and the latest count of each running task */
    private long finished;
    private final Map<Long, Long> running = new ConcurrentHashMap<>();
    private long started = -1;
    private long lastPrint;
    private long lastDone = -1;

    Progress(long accumulatorId, long total, PrintStream out) {
        this.accumulatorId = accumulatorId;
        this.total = total;
        this.out = out;
    }

    @Override
    public synchronized void onTaskStart(SparkListenerTaskStart start) {
        if (started < 0) started = System.nanoTime();
    }

    @Override
    public synchronized void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> t
                : CollectionConverters.asJava(update.accumUpdates())) {
            Long value = valueOf(t._4());
            if (value != null) running.put((Long) t._1(), value);
        }
        print();
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        running.remove(end.taskInfo().taskId());
        if (end.taskInfo().successful()) {
            Long value = valueOf(end.taskInfo().accumulables());
            if (value != null) finished += value;
        }
        print();
    }

    private Long valueOf(scala.collection.Seq<AccumulableInfo> infos) {
        for (AccumulableInfo a : CollectionConverters.asJava(infos)) {
            if (a.id() == accumulatorId && a.update().isDefined() && a.update().get() instanceof Long l) {
                return l;
            }
        }
        return null;
    }

    private void print() {
        long now = System.nanoTime();
        if (out == null || now - lastPrint < EVERY_NANOS) return;
        long done = finished;
        for (long v : running.values()) done += v;
        if (done == lastDone && now - lastPrint < QUIET_NANOS) return; // unchanged: once a minute
        lastPrint = now;
        lastDone = done;
        out.println(line(done, started < 0 ? 0 : (now - started) / 1e9));
        out.flush();
    }

    String line(long done, double seconds) {
        return String.format(Locale.ROOT, "owl2j batch: %d/%d rows, %.2f rows/s", done, total, seconds > 0 ? done / seconds : 0.0);
    }

    /**
     * The last line: the accumulator's final count over the job's wall time, unless the last line printed already
     * showed that count.
     */
    synchronized void finish(long done, double seconds) {
        if (out != null && done != lastDone) {
            out.println(line(done, seconds));
            out.flush();
        }
    }
}
