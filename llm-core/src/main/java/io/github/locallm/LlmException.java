package io.github.locallm;

/**
 * Root of every exception the SDK throws for a failure of a model or backend.
 *
 * <p>Misuse of the API (bad arguments, use after close) is reported with the standard
 * {@link IllegalArgumentException}, {@link IllegalStateException} and {@link NullPointerException}
 * instead. Messages say what failed, for which model, and what to do next; an underlying
 * {@link java.io.IOException} or native error is the cause.
 */
public class LlmException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message.
     *
     * @param message what failed and what to do next
     */
    public LlmException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and a cause.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public LlmException(String message, Throwable cause) {
        super(message, cause);
    }
}
