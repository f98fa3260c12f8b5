package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;

import java.time.Duration;

/**
 * Server settings and per-request limits.
 *
 * @param maxBatch          sequences decoded together
 * @param queue             requests that may wait for a batch slot before new ones get 429
 * @param maxImages         images per request
 * @param maxImageBytes     encoded bytes per image
 * @param maxImagePixels    width × height per image (checked from the header before decoding)
 * @param maxTokens         largest max_tokens a request may ask for
 * @param remoteImageTimeout connect and read limit for http(s) images
 */
public record ServerOptions(String host, int port, int maxBatch, int queue, boolean allowRemoteImages,
                            int maxImages, int maxImageBytes, long maxImagePixels, int maxTokens,
                            Duration remoteImageTimeout) {
    public ServerOptions {
        if (port < 0 || port > 65535) throw new Owl2jException("--port must be 0..65535, got " + port);
        if (maxBatch < 1) throw new Owl2jException("--max-batch must be at least 1, got " + maxBatch);
        if (queue < 1) throw new Owl2jException("--queue must be at least 1, got " + queue);
        if (maxImages < 0) throw new Owl2jException("--max-images must be >= 0, got " + maxImages);
        if (maxTokens < 1) throw new Owl2jException("--max-tokens must be at least 1, got " + maxTokens);
    }

    /** 127.0.0.1:8080, batch 16, queue 64, 8 images of at most 20 MB and 50 Mpixel, 4096 new tokens, 10 s fetches. */
    public static ServerOptions defaults() {
        return new ServerOptions("127.0.0.1", 8080, 16, 64, false, 8, 20 << 20, 50_000_000L, 4096, Duration.ofSeconds(10));
    }

    public ServerOptions withPort(int port) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels, maxTokens, remoteImageTimeout);
    }

    public ServerOptions withBatch(int maxBatch, int queue) {
        return new ServerOptions(host, port, maxBatch, queue, allowRemoteImages, maxImages, maxImageBytes, maxImagePixels, maxTokens, remoteImageTimeout);
    }
}
