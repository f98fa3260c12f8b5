package dev.owl2j.runtime.server;

import dev.owl2j.runtime.generation.Generator.FinishReason;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counters, gauges and latency histograms of the server in the Prometheus text format (version 0.0.4).
 * Written by hand because a dozen lines of text do not justify a metrics library and its registry.
 */
public final class ServerMetrics {
    private static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

    private final AtomicLong[] finished = new AtomicLong[FinishReason.values().length];
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong queueDepth = new AtomicLong();
    private final AtomicLong active = new AtomicLong();
    private final AtomicLong scores = new AtomicLong();
    private final AtomicLong decodeStepNanos = new AtomicLong();
    private final AtomicLong decodeStepTokens = new AtomicLong();
    private final AtomicLong decodeSteps = new AtomicLong();
    private final Histogram firstToken = new Histogram();
    private final Histogram total = new Histogram();
    private final java.util.concurrent.ConcurrentHashMap<Integer, AtomicLong> httpStatus = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<String, AtomicLong> refusedConnections = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.List<String[]> gaugeHelp = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.Map<String, java.util.function.LongSupplier> gauges = new java.util.concurrent.ConcurrentHashMap<>();

    public ServerMetrics() {
        for (int i = 0; i < finished.length; i++) finished[i] = new AtomicLong();
    }

    void finished(FinishReason reason, long firstTokenNanos, long totalNanos) {
        finished[reason.ordinal()].incrementAndGet();
        if (firstTokenNanos >= 0) firstToken.observe(firstTokenNanos / 1e9);
        total.observe(totalNanos / 1e9);
    }

    void failed() {
        failed.incrementAndGet();
    }

    void rejected() {
        rejected.incrementAndGet();
    }

    void promptTokens(long n) {
        promptTokens.addAndGet(n);
    }

    void generatedTokens(long n) {
        generatedTokens.addAndGet(n);
    }

    void queueDepth(int n) {
        queueDepth.set(n);
    }

    void active(int n) {
        active.set(n);
    }

    /** One batched decode step: how long it took and how many sequences it advanced. */
    void decodeStep(long nanos, int sequences) {
        decodeStepNanos.addAndGet(nanos);
        decodeStepTokens.addAndGet(sequences);
        decodeSteps.incrementAndGet();
    }

    /** Totals of the batched decode steps so far: {nanoseconds, sequence-steps, steps} (for benchmarks). */
    public long[] decodeStepTotals() {
        return new long[]{decodeStepNanos.get(), decodeStepTokens.get(), decodeSteps.get()};
    }

    void scored() {
        scores.incrementAndGet();
    }

    /** A gauge read when the metrics are rendered (connections open, preparations pending). */
    void gauge(String name, String help, java.util.function.LongSupplier value) {
        if (gauges.put(name, value) == null) gaugeHelp.add(new String[]{name, help});
    }

    /** A connection closed without being served, by reason (over the connection cap, read timeout). */
    void connectionRefused(String reason) {
        refusedConnections.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
    }

    /** Counts an HTTP response by status code. */
    public void httpResponse(int status) {
        httpStatus.computeIfAbsent(status, k -> new AtomicLong()).incrementAndGet();
    }

    public long generatedTokens() {
        return generatedTokens.get();
    }

    public String render() {
        StringBuilder b = new StringBuilder();
        header(b, "owl2j_requests_total", "counter", "Generation requests that ended, by finish reason (error: failed after admission).");
        for (FinishReason r : FinishReason.values()) {
            b.append("owl2j_requests_total{result=\"").append(r.name().toLowerCase(Locale.ROOT)).append("\"} ")
                    .append(finished[r.ordinal()].get()).append('\n');
        }
        b.append("owl2j_requests_total{result=\"error\"} ").append(failed.get()).append('\n');
        counter(b, "owl2j_requests_rejected_total", "Requests refused because the queue was full.", rejected.get());
        counter(b, "owl2j_score_requests_total", "Scoring requests served.", scores.get());
        header(b, "owl2j_http_responses_total", "counter", "HTTP responses by status code.");
        httpStatus.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e ->
                b.append("owl2j_http_responses_total{code=\"").append(e.getKey()).append("\"} ").append(e.getValue().get()).append('\n'));
        counter(b, "owl2j_prompt_tokens_total", "Prompt positions prefilled (image tokens included).", promptTokens.get());
        counter(b, "owl2j_generated_tokens_total", "Tokens generated.", generatedTokens.get());
        b.append("# HELP owl2j_decode_step_seconds_total Time spent in batched decode steps (prefills excluded).\n")
                .append("# TYPE owl2j_decode_step_seconds_total counter\n")
                .append("owl2j_decode_step_seconds_total ").append(String.format(Locale.ROOT, "%.6f", decodeStepNanos.get() / 1e9)).append('\n');
        counter(b, "owl2j_decode_step_tokens_total", "Sequence-steps advanced by batched decode steps.", decodeStepTokens.get());
        gauge(b, "owl2j_queue_depth", "Requests waiting for a batch slot.", queueDepth.get());
        gauge(b, "owl2j_active_sequences", "Sequences in the decode batch.", active.get());
        header(b, "owl2j_connections_closed_total", "counter", "Connections the server closed without serving them, by reason.");
        refusedConnections.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e ->
                b.append("owl2j_connections_closed_total{reason=\"").append(e.getKey()).append("\"} ").append(e.getValue().get()).append('\n'));
        for (String[] g : gaugeHelp) gauge(b, g[0], g[1], gauges.get(g[0]).getAsLong());
        firstToken.render(b, "owl2j_time_to_first_token_seconds", "Time from submission to the first generated token.");
        total.render(b, "owl2j_request_duration_seconds", "Time from submission to the end of generation.");
        return b.toString();
    }

    private static void header(StringBuilder b, String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void counter(StringBuilder b, String name, String help, long value) {
        header(b, name, "counter", help);
        b.append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String help, long value) {
        header(b, name, "gauge", help);
        b.append(name).append(' ').append(value).append('\n');
    }

    private static final class Histogram {
        private final AtomicLongArray counts = new AtomicLongArray(BUCKETS.length);
        private final AtomicLong count = new AtomicLong();
        private final AtomicLong sumMicros = new AtomicLong();

        void observe(double seconds) {
            for (int i = 0; i < BUCKETS.length; i++) {
                if (seconds <= BUCKETS[i]) counts.incrementAndGet(i);
            }
            count.incrementAndGet();
            sumMicros.addAndGet(Math.round(seconds * 1e6));
        }

        void render(StringBuilder b, String name, String help) {
            header(b, name, "histogram", help);
            for (int i = 0; i < BUCKETS.length; i++) {
                b.append(name).append("_bucket{le=\"").append(BUCKETS[i]).append("\"} ").append(counts.get(i)).append('\n');
            }
            b.append(name).append("_bucket{le=\"+Inf\"} ").append(count.get()).append('\n');
            b.append(name).append("_sum ").append(String.format(Locale.ROOT, "%.6f", sumMicros.get() / 1e6)).append('\n');
            b.append(name).append("_count ").append(count.get()).append('\n');
        }
    }
}
