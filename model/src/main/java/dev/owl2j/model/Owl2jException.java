package dev.owl2j.model;

/**
 * The one error type for everything a user can cause: a bad file, a bad flag, a prompt too long.
 * Its message is a complete one-line sentence that names the problem; the CLI prints it as is and the
 * server puts it in the JSON error body.
 */
public class Owl2jException extends RuntimeException {
    public Owl2jException(String message) {
        super(message);
    }

    public Owl2jException(String message, Throwable cause) {
        super(message, cause);
    }
}
