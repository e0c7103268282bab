package io.github.locallm;

/**
 * Receives a streamed generation: pieces in order, then exactly one terminal call.
 *
 * <p>Calls come from one backend thread, one at a time; nothing is called after
 * {@link #onComplete} or {@link #onError}. A cancelled generation ends with {@link #onComplete} and
 * {@link FinishReason#CANCELLED}.
 */
public interface StreamHandler {
    /** @param text the next piece of the answer */
    void onToken(String text);

    /** @param text the next piece of reasoning text; ignored by default */
    default void onThinking(String text) {
    }

    /**
     * Receives the log probabilities of the tokens of the piece just delivered to {@link #onToken}, when
     * they were asked for ({@link GenerationOptions.Builder#logprobs(boolean)}) and the backend reports
     * them; ignored by default. {@link Completion#logprobs()} holds them all at the end.
     *
     * @param entries one entry per token, in order
     */
    default void onLogprobs(java.util.List<TokenLogprob> entries) {
    }

    /** @param completion the whole result; its text equals the concatenated pieces */
    void onComplete(Completion completion);

    /** @param error why generation failed */
    void onError(Throwable error);
}
