package io.github.locallm.internal;

import io.github.locallm.Completion;

/**
 * Receives one generation from the push primitive ({@link Engine#start}): pieces in order, then exactly
 * one terminal call.
 *
 * <p>All calls come from the generating thread, one at a time. An exception thrown by
 * {@link #onToken} or {@link #onThinking} cancels the generation and is reported through
 * {@link #onError}.
 */
public interface GenerationListener {
    /** @param text the next piece of the answer */
    void onToken(String text);

    /** @param text the next piece of reasoning text */
    default void onThinking(String text) {
    }

    /** @param entries log probabilities of the tokens of the piece just delivered */
    default void onLogprobs(java.util.List<io.github.locallm.TokenLogprob> entries) {
    }

    /** @param completion the result; its text is the concatenation of the pieces */
    void onComplete(Completion completion);

    /** @param error why generation failed */
    void onError(Throwable error);
}
