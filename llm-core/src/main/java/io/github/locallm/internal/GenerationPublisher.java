package io.github.locallm.internal;

import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationCancelledException;
import io.github.locallm.spi.GenerationRequest;
import java.util.Objects;
import java.util.concurrent.Flow;

/**
 * A cold publisher of a generation's pieces: each subscription runs its own generation.
 *
 * <p>Demand is honoured by blocking the generating thread while the subscriber has not asked for more;
 * cancelling the subscription cancels the generation. Every signal comes from the generating thread.
 * A generation cancelled by something else than the subscriber (the model was closed) ends with
 * {@code onError(GenerationCancelledException)}.
 *
 * <p>Thread-safe.
 */
public final class GenerationPublisher implements Flow.Publisher<String> {
    private final Engine engine;
    private final GenerationRequest request;
    @SuppressWarnings("unused") // keeps the owner, and so its backend, alive while the publisher is held
    private final Object owner;

    /**
     * @param engine where generations run
     * @param request the validated request each subscription runs
     * @param owner the object whose unreachability would close the engine
     */
    public GenerationPublisher(Engine engine, GenerationRequest request, Object owner) {
        this.engine = engine;
        this.request = request;
        this.owner = owner;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super String> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        Cancellation cancellation = new Cancellation();
        Subscription s = new Subscription(subscriber, cancellation);
        cancellation.onCancel(s::wake);
        try {
            subscriber.onSubscribe(s);
        } catch (RuntimeException e) {
            s.cancel();
            return;
        }
        if (s.subscriberCancelled()) {
            return;
        }
        try {
            engine.start(request, s, cancellation);
        } catch (IllegalStateException e) {
            s.onError(e);
        }
    }

    private static final class Subscription implements Flow.Subscription, GenerationListener {
        private final Flow.Subscriber<? super String> subscriber;
        private final Cancellation cancellation;
        private long demand;
        private boolean cancelled;
        private IllegalArgumentException badRequest;
        private boolean terminated;

        Subscription(Flow.Subscriber<? super String> subscriber, Cancellation cancellation) {
            this.subscriber = subscriber;
            this.cancellation = cancellation;
        }

        @Override
        public void request(long n) {
            synchronized (this) {
                if (n <= 0) {
                    if (badRequest == null) {
                        badRequest = new IllegalArgumentException(
                                "request(n) needs n > 0 (Reactive Streams rule 3.9): " + n);
                    }
                } else {
                    demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
                }
                notifyAll();
            }
            if (n <= 0) {
                cancellation.cancel();
            }
        }

        @Override
        public void cancel() {
            synchronized (this) {
                cancelled = true;
                notifyAll();
            }
            cancellation.cancel();
        }

        synchronized boolean subscriberCancelled() {
            return cancelled;
        }

        synchronized void wake() {
            notifyAll();
        }

        @Override
        public void onToken(String text) {
            synchronized (this) {
                while (demand == 0 && !cancelled && badRequest == null && !cancellation.isCancelled()) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        cancellation.cancel();
                        return;
                    }
                }
                if (cancelled || badRequest != null || demand == 0) {
                    return;
                }
                if (demand != Long.MAX_VALUE) {
                    demand--;
                }
            }
            subscriber.onNext(text);
        }

        @Override
        public void onComplete(Completion completion) {
            if (completion.finishReason() == FinishReason.CANCELLED) {
                onError(new GenerationCancelledException("the generation was cancelled before it ended "
                        + "(the model was closed or the generation was cancelled elsewhere)"));
                return;
            }
            if (!terminate()) {
                return;
            }
            IllegalArgumentException bad;
            synchronized (this) {
                bad = badRequest;
            }
            if (bad != null) {
                subscriber.onError(bad);
            } else {
                subscriber.onComplete();
            }
        }

        @Override
        public void onError(Throwable error) {
            if (!terminate()) {
                return;
            }
            IllegalArgumentException bad;
            synchronized (this) {
                bad = badRequest;
            }
            subscriber.onError(bad != null ? bad : error);
        }

        // No terminal signal after the subscriber cancelled, and never two.
        private synchronized boolean terminate() {
            if (terminated || cancelled) {
                return false;
            }
            terminated = true;
            return true;
        }
    }
}
