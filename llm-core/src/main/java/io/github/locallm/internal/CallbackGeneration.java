package io.github.locallm.internal;

import io.github.locallm.Completion;
import io.github.locallm.GenerationHandle;
import io.github.locallm.StreamHandler;
import java.util.concurrent.CompletableFuture;

/**
 * Forwards a generation to a {@link StreamHandler} and serves as its {@link GenerationHandle}.
 *
 * <p>Thread-safe.
 */
public final class CallbackGeneration implements GenerationHandle, GenerationListener {
    private final StreamHandler handler;
    private final Cancellation cancellation;
    private final CompletableFuture<Completion> result = new CompletableFuture<>();
    private volatile boolean done;

    /**
     * @param handler the user's handler
     * @param cancellation the generation's cancel signal
     */
    public CallbackGeneration(StreamHandler handler, Cancellation cancellation) {
        this.handler = handler;
        this.cancellation = cancellation;
    }

    @Override
    public void cancel() {
        cancellation.cancel();
    }

    @Override
    public boolean isDone() {
        return done;
    }

    /**
     * @return a new future of the result; cancelling it cancels the generation (the future form), while the
     *     handler still receives the cancelled result
     */
    @Override
    public CompletableFuture<Completion> completion() {
        CompletableFuture<Completion> view = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                boolean cancelled = super.cancel(mayInterruptIfRunning);
                cancellation.cancel();
                return cancelled;
            }
        };
        result.whenComplete((c, e) -> {
            if (e != null) {
                view.completeExceptionally(e);
            } else {
                view.complete(c);
            }
        });
        return view;
    }

    @Override
    public void onToken(String text) {
        handler.onToken(text);
    }

    @Override
    public void onThinking(String text) {
        handler.onThinking(text);
    }

    @Override
    public void onLogprobs(java.util.List<io.github.locallm.TokenLogprob> entries) {
        handler.onLogprobs(entries);
    }

    @Override
    public void onComplete(Completion completion) {
        try {
            handler.onComplete(completion);
        } finally {
            done = true;
            result.complete(completion);
        }
    }

    @Override
    public void onError(Throwable error) {
        try {
            handler.onError(error);
        } finally {
            done = true;
            result.completeExceptionally(error);
        }
    }

    /** @return the state, such as {@code GenerationHandle[running]} or {@code GenerationHandle[done: STOP, 12 tokens]} */
    @Override
    public String toString() {
        if (!result.isDone()) {
            return "GenerationHandle[" + (cancellation.isCancelled() ? "cancelling" : "running") + "]";
        }
        if (result.isCompletedExceptionally()) {
            Throwable error = result.handle((c, e) -> e).join();
            Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            return "GenerationHandle[failed: " + cause.getClass().getSimpleName() + "]";
        }
        Completion c = result.join();
        return "GenerationHandle[done: " + c.finishReason() + ", " + c.usage().completionTokens() + " tokens]";
    }
}
