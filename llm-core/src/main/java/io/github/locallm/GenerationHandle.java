package io.github.locallm;

import java.util.concurrent.CompletableFuture;

/**
 * A running generation that can be cancelled.
 *
 * <p>Thread-safe.
 */
public interface GenerationHandle {
    /** Asks the generation to stop; it ends promptly with {@link FinishReason#CANCELLED}. Idempotent. */
    void cancel();

    /** @return true once the terminal signal was delivered */
    boolean isDone();

    /**
     * Returns a new future of the result: it completes with the result (with {@link FinishReason#CANCELLED}
     * after {@link #cancel()} or a close of the model), or exceptionally with the failure. Cancelling the
     * future cancels the generation too: that future then throws
     * {@link java.util.concurrent.CancellationException}, while the handler still gets the cancelled result.
     *
     * @return a future of the result
     */
    CompletableFuture<Completion> completion();
}
