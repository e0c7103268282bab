package io.github.locallm;

/**
 * A prompt does not fit the model's context window.
 */
public class ContextOverflowException extends LlmException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed and what to do next
     */
    public ContextOverflowException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public ContextOverflowException(String message, Throwable cause) {
        super(message, cause);
    }
}
