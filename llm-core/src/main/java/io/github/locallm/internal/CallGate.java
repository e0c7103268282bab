package io.github.locallm.internal;

import java.time.Duration;

/**
 * Counts the calls running inside a backend and closes the backend once, after the last one returned.
 *
 * <p>Thread-safe. It holds no reference to the {@code LocalLlm}, so it can serve as the state of a
 * {@link java.lang.ref.Cleaner} action.
 */
final class CallGate {
    private static final System.Logger LOG = System.getLogger(CallGate.class.getName());

    private final String label;
    private final Runnable closer;
    private int active;
    private boolean closed;
    private boolean backendClosed;
    // While close() waits, it closes the backend itself, so that close() returns only after backend.close().
    private boolean closerWaiting;

    CallGate(String label, Runnable closer) {
        this.label = label;
        this.closer = closer;
    }

    /** @throws IllegalStateException when closed */
    synchronized void enter() {
        if (closed) {
            throw closedException(label);
        }
        active++;
    }

    void exit() {
        boolean closeNow = false;
        synchronized (this) {
            active--;
            if (active == 0) {
                notifyAll();
                if (closed && !backendClosed && !closerWaiting) {
                    backendClosed = true;
                    closeNow = true;
                }
            }
        }
        if (closeNow) {
            closeBackend();
        }
    }

    synchronized boolean isClosed() {
        return closed;
    }

    /** @return true for the first call only */
    synchronized boolean markClosed() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }

    /**
     * Waits until no call runs, then closes the backend. If calls still run at the deadline, the last
     * of them closes it when it returns.
     *
     * @param max how long to wait
     * @return true when no call was running at the end
     */
    boolean awaitIdleThenCloseBackend(Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        boolean closeNow = false;
        boolean idle;
        synchronized (this) {
            closerWaiting = true;
            boolean interrupted = false;
            while (active > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    interrupted = true;
                    break;
                }
            }
            closerWaiting = false;
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            idle = active == 0;
            if (idle && !backendClosed) {
                backendClosed = true;
                closeNow = true;
            }
        }
        if (closeNow) {
            closeBackend();
        } else if (!idle) {
            LOG.log(System.Logger.Level.WARNING, label + ": calls still running after " + max
                    + "; the backend will be closed when the last one returns");
        }
        return idle;
    }

    private void closeBackend() {
        try {
            closer.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, label + ": closing the backend failed", e);
        }
    }

    static IllegalStateException closedException(String label) {
        return new IllegalStateException(label + " is closed; open the model again with LocalLlm.open(...)");
    }
}
