package io.github.locallm.internal;

import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import java.util.concurrent.CompletableFuture;

/**
 * The future of one generation; cancelling it, or completing it from outside (for example through
 * {@link #orTimeout} or {@link #completeOnTimeout}), cancels the generation itself, since nobody can see
 * its result any more. A generation that ends cancelled for another reason (its model was closed) cancels
 * the future: the future form reports every cancellation as a {@link java.util.concurrent.CancellationException}.
 *
 * <p>Thread-safe.
 */
public final class CompletionFuture extends CompletableFuture<Completion> implements GenerationListener {
    private final Cancellation cancellation;

    /** @param cancellation the signal that cancelling this future sets */
    public CompletionFuture(Cancellation cancellation) {
        this.cancellation = cancellation;
    }

    /**
     * Cancels this future, then signals the generation.
     *
     * <p>The future goes first: a backend that stops as soon as it is signalled would otherwise complete
     * the future from its own thread before {@code super.cancel} runs, and {@code cancel(true)} on a
     * running generation would return {@code false}. The signal is sent whatever {@code super.cancel}
     * returned: when the generation already delivered its result, it has nothing left to stop (the
     * signal is per generation and its actions are idempotent).
     */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        cancellation.cancel();
        return cancelled;
    }

    @Override
    public boolean complete(Completion value) {
        boolean completed = super.complete(value);
        if (completed) {
            cancellation.cancel();
        }
        return completed;
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
        boolean completed = super.completeExceptionally(ex);
        if (completed) {
            cancellation.cancel();
        }
        return completed;
    }

    @Override
    public void onToken(String text) {
        // the future only carries the result
    }

    @Override
    public void onComplete(Completion completion) {
        if (completion.finishReason() == FinishReason.CANCELLED) {
            super.cancel(false);
        } else {
            super.complete(completion);
        }
    }

    @Override
    public void onError(Throwable error) {
        super.completeExceptionally(error);
    }
}
