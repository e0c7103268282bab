package io.github.locallm.internal;

import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.Timings;
import io.github.locallm.Usage;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.TokenSink;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One run of {@link LlmBackend#generate} on the engine's executor, delivering to a
 * {@link GenerationListener} with exactly one terminal signal.
 *
 * <p>Thread-safe: {@link #cancel()} and the waits may be called from any thread.
 */
public final class Generation implements Runnable {
    private static final System.Logger LOG = System.getLogger(Generation.class.getName());

    private final Engine engine;
    private final GenerationRequest request;
    private final GenerationListener listener;
    private final Cancellation cancellation;
    private final long startNanos;
    private final CountDownLatch backendReturned = new CountDownLatch(1);
    private final CountDownLatch terminated = new CountDownLatch(1);

    // Touched only by the generating thread.
    private final StringBuilder text = new StringBuilder();
    private final StringBuilder thinking = new StringBuilder();
    private final java.util.List<io.github.locallm.TokenLogprob> logprobs = new java.util.ArrayList<>();
    private long firstTokenNanos;
    private volatile boolean sinkOpen = true;
    private Throwable listenerFailure;

    Generation(Engine engine, GenerationRequest request, GenerationListener listener, Cancellation cancellation) {
        this.engine = engine;
        this.request = request;
        this.listener = listener;
        this.cancellation = cancellation;
        this.startNanos = System.nanoTime();
    }

    /** Asks the generation to stop. Idempotent. */
    public void cancel() {
        cancellation.cancel();
    }

    /** @return the cancel signal */
    public Cancellation cancellation() {
        return cancellation;
    }

    /**
     * @param max how long to wait
     * @return true once the backend call returned (or never started)
     */
    public boolean awaitBackendReturn(Duration max) {
        try {
            return backendReturned.await(max.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return backendReturned.getCount() == 0;
        }
    }

    /** @return true once the terminal signal was delivered */
    public boolean isDone() {
        return terminated.getCount() == 0;
    }

    @Override
    public void run() {
        BackendResult result = null;
        Throwable failure = null;
        long endNanos;
        try {
            if (!cancellation.isCancelled()) {
                result = engine.backend().generate(request, new Sink(), cancellation);
                if (result == null) {
                    failure = new LlmException(engine.label() + ": the backend returned no result; "
                            + "this is a defect of the " + engine.info().backend() + " backend");
                }
            }
        } catch (Throwable t) {
            failure = t;
        } finally {
            sinkOpen = false;
            endNanos = System.nanoTime();
            engine.generationReturned(this);
            backendReturned.countDown();
        }
        try {
            if (listenerFailure != null) {
                deliverError(listenerFailure);
            } else if (failure != null) {
                deliverError(wrap(failure));
            } else {
                deliverComplete(completion(result, endNanos));
            }
        } finally {
            terminated.countDown();
        }
    }

    private Completion completion(BackendResult result, long endNanos) {
        FinishReason reason;
        int promptTokens = 0;
        int completionTokens = 0;
        List<io.github.locallm.ToolCall> toolCalls = List.of();
        Timings timings = null;
        String rawReason = "";
        if (result == null) {
            reason = FinishReason.CANCELLED;
        } else {
            // The backend's word counts: a generation that ended before it saw the cancel did end normally.
            reason = result.finishReason();
            promptTokens = Math.max(0, result.promptTokens());
            completionTokens = Math.max(0, result.completionTokens());
            toolCalls = result.toolCalls();
            timings = result.backendTimings().orElse(null);
            rawReason = result.rawFinishReason();
        }
        if (timings == null) {
            timings = measured(completionTokens, endNanos);
        }
        return new Completion(text.toString(), thinking.toString(), reason, new Usage(promptTokens, completionTokens),
                timings, toolCalls, logprobs, rawReason);
    }

    private Timings measured(int completionTokens, long endNanos) {
        Duration total = Duration.ofNanos(endNanos - startNanos);
        if (firstTokenNanos == 0) {
            return new Timings(total, total, 0);
        }
        Duration ttft = Duration.ofNanos(firstTokenNanos - startNanos);
        long decodeNanos = endNanos - firstTokenNanos;
        double tps = completionTokens >= 2 && decodeNanos > 0 ? (completionTokens - 1) * 1e9 / decodeNanos : 0;
        return new Timings(ttft, total, tps);
    }

    private Throwable wrap(Throwable t) {
        if (t instanceof LlmException || t instanceof IllegalArgumentException) {
            return t;
        }
        return new LlmException(engine.label() + ": generation failed: " + t, t);
    }

    private void deliverComplete(Completion c) {
        try {
            listener.onComplete(c);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, engine.label() + ": a completion handler failed", e);
        }
    }

    private void deliverError(Throwable t) {
        try {
            listener.onError(t);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, engine.label() + ": an error handler failed", e);
        }
    }

    private final class Sink implements TokenSink {
        @Override
        public void token(String piece) {
            if (!accepting(piece)) {
                return;
            }
            if (firstTokenNanos == 0) {
                firstTokenNanos = System.nanoTime();
            }
            text.append(piece);
            try {
                listener.onToken(piece);
            } catch (RuntimeException | Error e) {
                listenerFailure = e;
                cancellation.cancel();
            }
        }

        @Override
        public void thinking(String piece) {
            if (!accepting(piece)) {
                return;
            }
            if (firstTokenNanos == 0) {
                firstTokenNanos = System.nanoTime();
            }
            thinking.append(piece);
            try {
                listener.onThinking(piece);
            } catch (RuntimeException | Error e) {
                listenerFailure = e;
                cancellation.cancel();
            }
        }

        @Override
        public void logprobs(java.util.List<io.github.locallm.TokenLogprob> entries) {
            if (!sinkOpen || listenerFailure != null || entries == null || entries.isEmpty()) {
                return;
            }
            java.util.List<io.github.locallm.TokenLogprob> copy = java.util.List.copyOf(entries);
            logprobs.addAll(copy);
            try {
                listener.onLogprobs(copy);
            } catch (RuntimeException | Error e) {
                listenerFailure = e;
                cancellation.cancel();
            }
        }

        // Pieces after a listener failure, after the backend returned or empty ones are dropped.
        private boolean accepting(String piece) {
            return sinkOpen && listenerFailure == null && piece != null && !piece.isEmpty();
        }
    }
}
