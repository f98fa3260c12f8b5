package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;

/** The scheduler's queue is full; the HTTP layer answers 429. */
public final class QueueFullException extends Owl2jException {
    public QueueFullException(int capacity) {
        super("server busy: the request queue is full (" + capacity + " waiting), retry later");
    }
}
