package io.github.locallm.spi;

/**
 * Receives generated text from a backend, piece by piece, in order.
 *
 * <p>Called on the thread that runs {@link LlmBackend#generate}; not required to be thread-safe.
 */
public interface TokenSink {
    /** @param text a piece of the answer; never empty, never a split UTF-8 character */
    void token(String text);

    /** @param text a piece of reasoning text, kept apart from the answer */
    default void thinking(String text) {
    }
}
