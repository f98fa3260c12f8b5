package dev.owl2j.model;

import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.*;

/** Asserts the project's promise for bad input: one Owl2jException whose message is one line naming the problem. */
public final class UserErrors {
    private UserErrors() {}

    /** Runs {@code e}, which must throw an Owl2jException of one line containing {@code fragment}; returns the message. */
    public static String assertRefused(Executable e, String fragment) {
        Throwable t = assertThrows(Throwable.class, e);
        assertInstanceOf(Owl2jException.class, t, () -> "not a user error: " + t);
        assertFalse(t.getMessage().isBlank(), "empty message");
        assertFalse(t.getMessage().contains("\n") || t.getMessage().contains("\r"), t.getMessage());
        assertTrue(t.getMessage().contains(fragment), () -> "'" + fragment + "' not in: " + t.getMessage());
        return t.getMessage();
    }
}
