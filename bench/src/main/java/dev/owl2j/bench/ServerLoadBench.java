package dev.owl2j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.runtime.server.OpenAiServer;
import dev.owl2j.runtime.server.ServerModel;
import dev.owl2j.runtime.server.ServerOptions;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Load test of the OpenAI-compatible server over loopback: for each client count, every client sends
 * {@code --requests} streaming chat requests back to back (greedy, {@code --max-tokens} tokens each, EOS
 * ignored so every request generates the same number of tokens). Reports the summed generation throughput
 * and the latency percentiles (time to first token, whole request). Bounded: clients × requests requests.
 *
 * <pre>java ... dev.owl2j.bench.ServerLoadBench [--model DIR|ID | --synthetic 7b] [--backend cpu] [--quant q4_0] [--clients 1,4,16] [--requests 4] [--max-tokens 32] [--max-batch 16]</pre>
 */
public final class ServerLoadBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Sample(long firstTokenNanos, long totalNanos, int tokens) {}

    public static void main(String[] args) throws Exception {
        String model = null;
        String synthetic = null;
        String backend = "cpu";
        String quant = null;
        int[] clients = {1, 4, 16};
        int requests = 4;
        int maxTokens = 32;
        int maxBatch = 16;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--synthetic" -> synthetic = args[++i];
                case "--backend" -> backend = args[++i];
                case "--quant" -> quant = args[++i];
                case "--clients" -> clients = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--requests" -> requests = Integer.parseInt(args[++i]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[++i]);
                case "--max-batch" -> maxBatch = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: ServerLoadBench [--model DIR|ID | --synthetic 7b] [--backend cpu] [--quant q8_0|q4_0] [--clients 1,4,16] [--requests N] [--max-tokens N] [--max-batch N]");
                    System.exit(2);
                }
            }
        }
        ServerModel front;
        if (synthetic == null) {
            front = BenchModels.open(model, backend, quant);
        } else if (synthetic.equals("7b")) {
            front = BenchModels.synthetic7b(quant);
        } else {
            throw new IllegalArgumentException("--synthetic: only 7b (the default model is the tiny one)");
        }
        int maxClients = Arrays.stream(clients).max().orElse(1);
        ServerOptions options = ServerOptions.defaults().withPort(0).withBatch(maxBatch, Math.max(64, maxClients * 2));
        try (OpenAiServer server = new OpenAiServer(front, options).start()) {
            String url = "http://127.0.0.1:" + server.port() + "/v1/chat/completions";
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            System.out.printf(Locale.ROOT, "model %s (%s), max batch %d, %d tokens per request, %d requests per client, %d cores%n",
                    front.id(), front.engine().description(), maxBatch, maxTokens, requests, Runtime.getRuntime().availableProcessors());
            request(http, url, maxTokens); // warm-up: JIT, thread pools
            System.out.println("clients  requests  tokens/s  decode tok/s  mean batch  ttft p50  ttft p90  latency p50  latency p90  latency p99");
            for (int c : clients) {
                long[] before = server.scheduler().metrics().decodeStepTotals();
                run(http, url, c, requests, maxTokens, () -> {
                    long[] after = server.scheduler().metrics().decodeStepTotals();
                    double secs = (after[0] - before[0]) / 1e9;
                    long seqSteps = after[1] - before[1];
                    long steps = after[2] - before[2];
                    return String.format(Locale.ROOT, "%12.1f  %10.1f", secs > 0 ? seqSteps / secs : 0, steps > 0 ? (double) seqSteps / steps : 0);
                });
            }
        }
        front.engine().close();
    }

    /**
     * One round. tokens/s: all generated tokens over the round's wall time (prefills included); decode tok/s:
     * tokens advanced by the batched decode steps over the time spent in them (the summed decode throughput).
     */
    static void run(HttpClient http, String url, int clients, int requests, int maxTokens,
                    java.util.function.Supplier<String> decodeColumns) throws Exception {
        List<Sample> samples = new ArrayList<>();
        long t0 = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<Future<List<Sample>>> futures = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                futures.add(pool.submit(() -> {
                    List<Sample> mine = new ArrayList<>();
                    for (int r = 0; r < requests; r++) mine.add(request(http, url, maxTokens));
                    return mine;
                }));
            }
            for (Future<List<Sample>> f : futures) samples.addAll(f.get());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long tokens = samples.stream().mapToLong(Sample::tokens).sum();
        long[] ttft = samples.stream().mapToLong(Sample::firstTokenNanos).sorted().toArray();
        long[] total = samples.stream().mapToLong(Sample::totalNanos).sorted().toArray();
        System.out.printf(Locale.ROOT, "%7d  %8d  %8.1f  %s  %6.0f ms  %6.0f ms  %8.0f ms  %8.0f ms  %8.0f ms%n",
                clients, samples.size(), tokens / seconds, decodeColumns.get(), ms(pct(ttft, 50)), ms(pct(ttft, 90)),
                ms(pct(total, 50)), ms(pct(total, 90)), ms(pct(total, 99)));
    }

    /** One streaming request; the usage chunk gives the exact token count. */
    static Sample request(HttpClient http, String url, int maxTokens) throws Exception {
        String body = "{\"model\":\"bench\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"temperature\":0,"
                + "\"max_tokens\":" + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\"Describe a sunny beach in a few words.\"}]}";
        long start = System.nanoTime();
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + r.statusCode() + ": " + new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        long first = -1;
        int tokens = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.startsWith("data: {")) continue;
                JsonNode chunk = JSON.readTree(line.substring(6));
                JsonNode choices = chunk.path("choices");
                if (first < 0 && choices.size() > 0 && choices.get(0).path("delta").has("content")
                        && !choices.get(0).path("delta").path("content").asText().isEmpty()) {
                    first = System.nanoTime() - start;
                }
                if (chunk.path("usage").isObject()) tokens = chunk.get("usage").get("completion_tokens").asInt();
            }
        }
        long total = System.nanoTime() - start;
        return new Sample(first < 0 ? total : first, total, tokens);
    }

    static long pct(long[] sorted, int p) {
        if (sorted.length == 0) return 0;
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }
}
