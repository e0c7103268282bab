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
        cancellation.cancel();
        return super.cancel(mayInterruptIfRunning);
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
