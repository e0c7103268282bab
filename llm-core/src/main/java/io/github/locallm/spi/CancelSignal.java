package io.github.locallm.spi;

/**
 * Tells a backend whether the caller cancelled a generation.
 *
 * <p>Thread-safe: cancellation comes from another thread.
 */
public interface CancelSignal {
    /** @return true once the generation was cancelled */
    boolean isCancelled();

    /**
     * Registers an action to run once when cancellation happens (at once if it already has), for
     * example closing an HTTP call. It may run on any thread.
     *
     * @param action the action
     */
    void onCancel(Runnable action);
}
