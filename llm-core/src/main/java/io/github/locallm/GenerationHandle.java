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

    /** @return completes with the result (also after a cancel), or exceptionally with the failure */
    CompletableFuture<Completion> completion();
}
