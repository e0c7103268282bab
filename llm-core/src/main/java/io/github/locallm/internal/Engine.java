package io.github.locallm.internal;

import io.github.locallm.ChatMessage;
import io.github.locallm.LlmException;
import io.github.locallm.ModelInfo;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The machinery behind one {@code LocalLlm}: the backend, the executor that runs generations, the
 * count of running backend calls and the close sequence.
 *
 * <p>Thread-safe.
 */
public final class Engine {
    /** How long {@link #close()} waits for running backend calls to return. */
    public static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

    /**
     * Most generations that run at once on their own threads, per model. Past it, a blocking call runs its
     * generation on the calling thread and a streaming call is refused: each streaming generation holds a
     * thread until its reader is done with it, and a bound keeps a leak of unread streams from becoming a
     * leak of threads.
     */
    public static final int MAX_GENERATION_THREADS = 128;

    private static final AtomicInteger POOLS = new AtomicInteger();

    private final LlmBackend backend;
    private final ModelInfo info;
    private final String label;
    private final ExecutorService executor;
    private final CallGate gate;
    private final Set<Generation> running = ConcurrentHashMap.newKeySet();

    /**
     * Takes ownership of an open backend.
     *
     * @param backend the backend; closed when this engine closes
     * @param info what the backend said it is
     */
    public Engine(LlmBackend backend, ModelInfo info) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.info = Objects.requireNonNull(info, "info");
        this.label = info.backend() + " model " + info.model();
        this.executor = newExecutor(info.backend());
        this.gate = new CallGate(label, backend::close);
    }

    private static ExecutorService newExecutor(String backendName) {
        int pool = POOLS.incrementAndGet();
        AtomicInteger threads = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "locallm-" + backendName + "-" + pool + "-gen-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        return new ThreadPoolExecutor(0, MAX_GENERATION_THREADS, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                factory);
    }

    /** @return the backend's description */
    public ModelInfo info() {
        return info;
    }

    /** @return "backend model name", for messages */
    public String label() {
        return label;
    }

    /** @return the backend: generations reach it through {@link #start}, direct calls through {@link #call} */
    public LlmBackend backend() {
        return backend;
    }

    /**
     * The push primitive: runs the backend's generation on the executor.
     *
     * @param request validated request
     * @param listener receives the pieces and the terminal signal
     * @param cancellation the cancel signal the caller holds
     * @return the running generation
     * @throws IllegalStateException when closed
     */
    public Generation start(GenerationRequest request, GenerationListener listener, Cancellation cancellation) {
        return start(request, listener, cancellation, false);
    }

    /**
     * The push primitive: runs the backend's generation on the executor, or, when all of its
     * {@link #MAX_GENERATION_THREADS} threads are busy and the caller waits for the result anyway, on the
     * calling thread before returning.
     *
     * @param request validated request
     * @param listener receives the pieces and the terminal signal
     * @param cancellation the cancel signal the caller holds
     * @param callerMayRun whether the caller blocks until the end, so that it may run the generation itself
     * @return the running (or, when the caller ran it, finished) generation
     * @throws IllegalStateException when closed
     * @throws LlmException when every generation thread is busy and the caller may not run it
     */
    public Generation start(GenerationRequest request, GenerationListener listener, Cancellation cancellation,
                            boolean callerMayRun) {
        gate.enter();
        Generation g = new Generation(this, request, listener, cancellation);
        running.add(g);
        try {
            executor.execute(g);
        } catch (RejectedExecutionException e) {
            if (executor.isShutdown()) {
                running.remove(g);
                gate.exit();
                throw CallGate.closedException(label);
            }
            if (callerMayRun) {
                g.run();
                return g;
            }
            running.remove(g);
            gate.exit();
            throw new LlmException(label + ": " + MAX_GENERATION_THREADS + " generations are already running at "
                    + "once on this model; close the iterators, handles and subscriptions that are no longer read, "
                    + "or wait for some to end");
        }
        if (gate.isClosed()) {
            // close() may have looked at the running set before this generation joined it
            g.cancel();
        }
        return g;
    }

    void generationReturned(Generation g) {
        running.remove(g);
        gate.exit();
    }

    /**
     * Runs a direct backend call (tokenize, count, embed) counted by the close sequence.
     *
     * @param call the call
     * @param <T> its result
     * @return its result
     * @throws IllegalStateException when closed
     */
    public <T> T call(Supplier<T> call) {
        gate.enter();
        try {
            return call.get();
        } finally {
            gate.exit();
        }
    }

    /**
     * @param messages conversation
     * @return the backend's exact count
     */
    public int countTokens(List<ChatMessage> messages) {
        return call(() -> backend.countTokens(messages));
    }

    /** @throws IllegalStateException when closed */
    public void ensureOpen() {
        if (gate.isClosed()) {
            throw CallGate.closedException(label);
        }
    }

    /** @return true once closing started */
    public boolean isClosed() {
        return gate.isClosed();
    }

    /**
     * Marks the engine closed (first call only) and cancels running generations.
     *
     * @return true for the first call
     */
    public boolean beginClose() {
        if (!gate.markClosed()) {
            return false;
        }
        for (Generation g : running) {
            g.cancel();
        }
        return true;
    }

    /** Waits (bounded) for running backend calls, then closes the backend once and stops the executor. */
    public void finishClose() {
        gate.awaitIdleThenCloseBackend(CLOSE_WAIT);
        executor.shutdown();
    }

    /** @return a cleaner action that closes the backend of an engine nobody closed; holds no engine reference */
    public Runnable cleanupAction() {
        CallGate g = gate;
        ExecutorService ex = executor;
        return () -> {
            if (g.markClosed()) {
                g.awaitIdleThenCloseBackend(Duration.ZERO);
                ex.shutdown();
            }
        };
    }
}
