package dev.owl2j.runtime.generation;

/** Turns generated ids into text incrementally without splitting a UTF-8 character across byte tokens. */
public interface TextStream {
    /** Text that became complete with this token (may be empty). */
    String push(int id);

    /** Whatever is still held back at the end. */
    String flush();
}
