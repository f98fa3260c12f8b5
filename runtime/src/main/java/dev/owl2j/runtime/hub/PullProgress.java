package dev.owl2j.runtime.hub;

/** Receives a pull's progress in bytes; called from several download threads at once. */
public interface PullProgress {
    /** Once, before any transfer: the bytes of all selected files. */
    void start(long totalBytes);

    /** Bytes now present changed by {@code delta}; negative when a partial file had to be started over. */
    void advance(long delta);

    /** Once, after the last transfer (also after a failure). */
    void finish();

    PullProgress NONE = new PullProgress() {
        @Override public void start(long totalBytes) {}
        @Override public void advance(long delta) {}
        @Override public void finish() {}
    };
}
