package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;

/** The scheduler stopped before this request could finish (or start); the HTTP layer answers 503. */
public final class ShuttingDownException extends Owl2jException {
    public ShuttingDownException() {
        super("the server is shutting down");
    }
}
