package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;

import java.util.Locale;

/** Requests dropped because the heap could not hold their KV caches; the HTTP layer answers 503. */
public final class ServerOutOfMemoryException extends Owl2jException {
    public ServerOutOfMemoryException(String during) {
        super(String.format(Locale.ROOT,
                "out of memory during %s: the %.1f GiB heap cannot hold the KV caches of the running requests;"
                        + " retry with fewer concurrent requests or shorter replies, or start the server with a larger"
                        + " heap (OWL2J_HEAP)", during, Runtime.getRuntime().maxMemory() / (1024.0 * 1024 * 1024)));
    }
}
