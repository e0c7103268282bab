package io.github.locallm.internal;

import io.github.locallm.spi.CancelSignal;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The cancel signal of one generation: set once, runs its registered actions once.
 *
 * <p>Thread-safe.
 */
public final class Cancellation implements CancelSignal {
    private static final System.Logger LOG = System.getLogger(Cancellation.class.getName());

    private volatile boolean cancelled;
    private List<Runnable> actions = new ArrayList<>();

    /** Creates a signal that is not cancelled. */
    public Cancellation() {
    }

    @Override
    public boolean isCancelled() {
        return cancelled;
    }

    @Override
    public void onCancel(Runnable action) {
        Objects.requireNonNull(action, "action");
        synchronized (this) {
            if (!cancelled) {
                actions.add(action);
                return;
            }
        }
        run(action);
    }

    /** Cancels; the first call runs the registered actions on the calling thread. Idempotent. */
    public void cancel() {
        List<Runnable> toRun;
        synchronized (this) {
            if (cancelled) {
                return;
            }
            cancelled = true;
            toRun = actions;
            actions = List.of();
        }
        toRun.forEach(Cancellation::run);
    }

    private static void run(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "a cancel action failed", e);
        }
    }
}
