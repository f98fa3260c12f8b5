package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.engine.CpuEngine;

import java.util.Locale;

/**
 * Requests dropped because memory could not hold their KV caches (off the heap, bounded by
 * {@link CpuEngine#kvCacheBudgetBytes}) or the step's activations (on the heap); the HTTP layer answers 503.
 */
public final class ServerOutOfMemoryException extends Owl2jException {
    public ServerOutOfMemoryException(String during) {
        super(String.format(Locale.ROOT,
                "out of memory during %s: the KV caches of the running requests do not fit (limit %.1f GiB, heap %.1f GiB);"
                        + " retry with fewer concurrent requests or shorter replies, or start the server with higher limits"
                        + " (OWL2J_JAVA_OPTS=-Dowl2j.kvCacheGiB=N, OWL2J_HEAP)", during,
                CpuEngine.kvCacheBudgetBytes() / (1024.0 * 1024 * 1024), Runtime.getRuntime().maxMemory() / (1024.0 * 1024 * 1024)));
    }
}
