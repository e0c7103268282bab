package io.github.locallm.internal;

import io.github.locallm.Completion;
import java.util.concurrent.CompletableFuture;

/**
 * The future of one generation; {@link #cancel(boolean)} cancels the generation itself.
 *
 * <p>Thread-safe.
 */
public final class CompletionFuture extends CompletableFuture<Completion> implements GenerationListener {
    private final Cancellation cancellation;

    /** @param cancellation the signal that cancelling this future sets */
    public CompletionFuture(Cancellation cancellation) {
        this.cancellation = cancellation;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        // Cancel the future before the generation: a backend that stops at once would otherwise complete
        // it first, and cancel(true) on a running generation would return false.
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        cancellation.cancel();
        return cancelled;
    }

    @Override
    public void onToken(String text) {
        // the future only carries the result
    }

    @Override
    public void onComplete(Completion completion) {
        complete(completion);
    }

    @Override
    public void onError(Throwable error) {
        completeExceptionally(error);
    }
}
