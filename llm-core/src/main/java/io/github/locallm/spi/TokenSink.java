package io.github.locallm.spi;

import io.github.locallm.TokenLogprob;
import java.util.List;

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

    /**
     * Receives the log probabilities of answer tokens, when the caller asked for them. A backend calls it
     * after the {@link #token} call of the same piece, with the entries of the tokens of that piece.
     *
     * @param entries one entry per token, in order; never empty
     */
    default void logprobs(List<TokenLogprob> entries) {
    }
}
