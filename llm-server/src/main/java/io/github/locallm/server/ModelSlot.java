package io.github.locallm.server;

import io.github.locallm.LocalLlm;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One served model and its admission control: at most {@code concurrency} generations run, at most
 * {@code queue} more wait (each at most {@code queueTimeout}); past that a request gets 503 with
 * Retry-After. Thread-safe.
 */
final class ModelSlot {
    final String name;
    final LocalLlm llm;
    final boolean owned;
    final long loadedAtMillis = System.currentTimeMillis();
    private final Semaphore running;
    private final int queue;
    private final Duration queueTimeout;
    private final AtomicInteger waiting = new AtomicInteger();

    ModelSlot(String name, LocalLlm llm, boolean owned, int concurrency, int queue, Duration queueTimeout) {
        this.name = name;
        this.llm = llm;
        this.owned = owned;
        this.running = new Semaphore(concurrency, true);
        this.queue = queue;
        this.queueTimeout = queueTimeout;
    }

    /** A taken generation slot; closing it frees the slot. */
    interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    Permit acquire() {
        if (!running.tryAcquire()) {
            if (waiting.incrementAndGet() > queue) {
                waiting.decrementAndGet();
                throw HttpError.overloaded(name, 2);
            }
            try {
                if (!running.tryAcquire(queueTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw HttpError.overloaded(name, 5);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw HttpError.unavailable("interrupted while waiting for model '" + name + "'");
            } finally {
                waiting.decrementAndGet();
            }
        }
        return new Permit() {
            private boolean closed;

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    running.release();
                }
            }
        };
    }
}
