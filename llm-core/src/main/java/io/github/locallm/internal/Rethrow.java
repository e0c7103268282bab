package io.github.locallm.internal;

import io.github.locallm.BackendUnavailableException;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.EngineCrashedException;
import io.github.locallm.GenerationCancelledException;
import io.github.locallm.LlmException;
import io.github.locallm.ModelLoadException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.ProviderNotFoundException;
import io.github.locallm.UnsupportedCapabilityException;

/**
 * Rethrows, on the thread of a blocking call, a failure that happened on the thread that ran the call's
 * generation, so that the stack trace shows where the caller called from.
 *
 * <p>The exceptions of this API (and the usual {@link IllegalArgumentException} and
 * {@link IllegalStateException}) are created anew, of the same class, with the same message and fields, on the
 * calling thread, with the original failure as their cause: the caller catches the type it expects and the
 * trace holds both threads. An exception of another class (a backend's own subclass, say) cannot be copied
 * faithfully, so it is rethrown itself, with a suppressed {@link LlmException} whose stack trace is the
 * caller's. Errors are rethrown as they are.
 *
 * <p>Stateless and thread-safe.
 */
public final class Rethrow {
    private Rethrow() {
    }

    /** The caller's stack, attached to a failure that could not be copied. */
    private static final class CalledFrom extends LlmException {
        private static final long serialVersionUID = 1L;

        CalledFrom(String thread) {
            super("called from thread " + thread);
        }
    }

    /**
     * @param failure what failed on the generating thread
     * @return the exception to throw on the calling thread
     * @throws Error when the failure is one
     */
    public static RuntimeException onCallerThread(Throwable failure) {
        if (failure instanceof Error e) {
            throw e;
        }
        String m = failure.getMessage();
        Class<?> type = failure.getClass();
        RuntimeException copy = null;
        if (type == LlmException.class) {
            copy = new LlmException(m, failure);
        } else if (type == GenerationCancelledException.class) {
            copy = new GenerationCancelledException(m, failure);
        } else if (type == ModelLoadException.class) {
            copy = new ModelLoadException(m, failure);
        } else if (type == ModelNotFoundException.class) {
            copy = new ModelNotFoundException(m, failure);
        } else if (type == BackendUnavailableException.class) {
            copy = new BackendUnavailableException(m, failure);
        } else if (type == ProviderNotFoundException.class) {
            copy = new ProviderNotFoundException(m, failure);
        } else if (type == UnsupportedCapabilityException.class) {
            copy = new UnsupportedCapabilityException(m,
                    ((UnsupportedCapabilityException) failure).capability().orElse(null), failure);
        } else if (type == ContextOverflowException.class) {
            ContextOverflowException c = (ContextOverflowException) failure;
            copy = c.promptTokens().isPresent() && c.requestedTokens().isPresent() && c.contextLength().isPresent()
                    ? new ContextOverflowException(m, c.promptTokens().getAsInt(), c.requestedTokens().getAsInt(),
                            c.contextLength().getAsInt(), failure)
                    : new ContextOverflowException(m, failure);
        } else if (type == EngineCrashedException.class) {
            EngineCrashedException c = (EngineCrashedException) failure;
            copy = new EngineCrashedException(m, c.pid().orElse(-1), c.exitCode().orElse(0),
                    c.exitCode().isPresent());
            copy.initCause(failure);
        } else if (type == IllegalArgumentException.class) {
            copy = new IllegalArgumentException(m, failure);
        } else if (type == IllegalStateException.class) {
            copy = new IllegalStateException(m, failure);
        } else if (type == UnsupportedOperationException.class) {
            copy = new UnsupportedOperationException(m, failure);
        }
        if (copy != null) {
            return copy;
        }
        if (failure instanceof RuntimeException r) {
            r.addSuppressed(new CalledFrom(Thread.currentThread().getName()));
            return r;
        }
        return new LlmException("generation failed: " + failure, failure);
    }
}
