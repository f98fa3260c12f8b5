package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;

import java.time.Duration;
import java.util.List;

/**
 * Server settings and per-request limits (docs/server.md lists them with their flags).
 *
 * @param maxBatch           sequences decoded together
 * @param queue              requests that may wait for a batch slot (and for the front-end pool) before new ones get 429
 * @param maxImages          images per request
 * @param maxImageBytes      encoded bytes per image
 * @param maxImagePixels     width × height per image (checked from the header before decoding)
 * @param maxTokens          largest max_tokens a request may ask for
 * @param remoteImageTimeout connect and read limit for http(s) images
 * @param readTimeout        the most time a client may take to send one request's headers and body, and the most
 *                           a connection may sit idle between requests
 * @param maxConnections     open connections served; further ones are answered 503 (health and metrics still served)
 * @param frontEndThreads    threads that parse bodies, decode images and tokenize prompts
 * @param bodyBudgetBytes    request-body bytes all requests together may hold in memory while they are prepared
 * @param corsOrigins        browser origins allowed to call the API (empty: no cross-origin calls)
 * @param hostNames          host names (besides IP literals and localhost) a request's Host header may carry
 * @param apiKey             the bearer token every API request must carry (null: none needed)
 * @param modelNames         the names /v1/models reports and a request's {@code model} may use (first = main id;
 *                           empty: the model's own id)
 */
public record ServerOptions(String host, int port, int maxBatch, int queue, boolean allowRemoteImages,
                            int maxImages, int maxImageBytes, long maxImagePixels, int maxTokens,
                            Duration remoteImageTimeout, Duration readTimeout, int maxConnections, int frontEndThreads,
                            long bodyBudgetBytes, List<String> corsOrigins, List<String> hostNames, String apiKey,
                            List<String> modelNames) {
    public ServerOptions {
        if (port < 0 || port > 65535) throw new Owl2jException("--port must be 0..65535, got " + port);
        if (maxBatch < 1) throw new Owl2jException("--max-batch must be at least 1, got " + maxBatch);
        if (queue < 1) throw new Owl2jException("--queue must be at least 1, got " + queue);
        if (maxImages < 0) throw new Owl2jException("--max-images must be >= 0, got " + maxImages);
        if (maxTokens < 1) throw new Owl2jException("--max-tokens must be at least 1, got " + maxTokens);
        if (readTimeout.isNegative() || readTimeout.isZero()) throw new Owl2jException("--read-timeout must be positive, got " + readTimeout);
        if (maxConnections < 1) throw new Owl2jException("--max-connections must be at least 1, got " + maxConnections);
        if (frontEndThreads < 1) throw new Owl2jException("front-end threads must be at least 1, got " + frontEndThreads);
        hostNames = hostNames == null ? List.of() : List.copyOf(hostNames);
        corsOrigins = corsOrigins == null ? List.of() : List.copyOf(corsOrigins);
        modelNames = modelNames == null ? List.of() : List.copyOf(modelNames);
        if (apiKey != null && apiKey.isBlank()) throw new Owl2jException("--api-key must not be empty");
        bodyBudgetBytes = Math.max(bodyBudgetBytes, maxBodyBytes(maxImages, maxImageBytes));
    }

    /** The settings before the newer limits: those get their defaults. */
    public ServerOptions(String host, int port, int maxBatch, int queue, boolean allowRemoteImages, int maxImages,
                         int maxImageBytes, long maxImagePixels, int maxTokens, Duration remoteImageTimeout) {
        this(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels, maxTokens,
                remoteImageTimeout, DEFAULT_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, defaultFrontEndThreads(),
                defaultBodyBudget(), List.of(), List.of(), null, List.of());
    }

    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_MAX_CONNECTIONS = 256;

    /** Half the cores (at least one, at most 8): the rest stay with the decode thread and the HTTP threads. */
    public static int defaultFrontEndThreads() {
        return Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors() / 2));
    }

    /** An eighth of the heap: a body becomes a byte array, a JSON tree and decoded images, several times its size. */
    public static long defaultBodyBudget() {
        return Runtime.getRuntime().maxMemory() / 8;
    }

    /** 127.0.0.1:8080, batch 16, queue 64, 8 images of at most 20 MB and 50 Mpixel, 4096 new tokens, 10 s fetches. */
    public static ServerOptions defaults() {
        return new ServerOptions("127.0.0.1", 8080, 16, 64, false, 8, 20 << 20, 50_000_000L, 4096, Duration.ofSeconds(10));
    }

    /** The largest request body: every image as base64 text (4/3 of its bytes) plus 1 MiB for the rest. */
    public long maxBodyBytes() {
        return maxBodyBytes(maxImages, maxImageBytes);
    }

    private static long maxBodyBytes(int maxImages, int maxImageBytes) {
        return (Math.max(1, maxImages) * ((maxImageBytes + 2L) / 3 * 4)) + (1 << 20);
    }

    public ServerOptions withPort(int port) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels,
                maxTokens, remoteImageTimeout, readTimeout, maxConnections, frontEndThreads, bodyBudgetBytes, corsOrigins,
                hostNames, apiKey, modelNames);
    }

    public ServerOptions withBatch(int maxBatch, int queue) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels,
                maxTokens, remoteImageTimeout, readTimeout, maxConnections, frontEndThreads, bodyBudgetBytes, corsOrigins,
                hostNames, apiKey, modelNames);
    }

    public ServerOptions withHost(String host) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels,
                maxTokens, remoteImageTimeout, readTimeout, maxConnections, frontEndThreads, bodyBudgetBytes, corsOrigins,
                hostNames, apiKey, modelNames);
    }

    public ServerOptions withConnections(Duration readTimeout, int maxConnections) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels,
                maxTokens, remoteImageTimeout, readTimeout, maxConnections, frontEndThreads, bodyBudgetBytes, corsOrigins,
                hostNames, apiKey, modelNames);
    }

    public ServerOptions withFrontEnd(int frontEndThreads, long bodyBudgetBytes) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels,
                maxTokens, remoteImageTimeout, readTimeout, maxConnections, frontEndThreads, bodyBudgetBytes, corsOrigins,
                hostNames, apiKey, modelNames);
    }

    public ServerOptions withAccess(List<String> corsOrigins, List<String> hostNames, String apiKey) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels,
                maxTokens, remoteImageTimeout, readTimeout, maxConnections, frontEndThreads, bodyBudgetBytes, corsOrigins,
                hostNames, apiKey, modelNames);
    }

    public ServerOptions withModelNames(List<String> modelNames) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels,
                maxTokens, remoteImageTimeout, readTimeout, maxConnections, frontEndThreads, bodyBudgetBytes, corsOrigins,
                hostNames, apiKey, modelNames);
    }

    /** Everything but the API key, which must never reach a log. */
    @Override
    public String toString() {
        return "ServerOptions[" + host + ":" + port + ", batch " + maxBatch + ", queue " + queue + ", api key "
                + (apiKey == null ? "none" : "set") + "]";
    }
}
