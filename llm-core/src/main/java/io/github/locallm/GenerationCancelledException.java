package io.github.locallm;

/**
 * A generation was cancelled before it produced a result.
 */
public class GenerationCancelledException extends LlmException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed and what to do next
     */
    public GenerationCancelledException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public GenerationCancelledException(String message, Throwable cause) {
        super(message, cause);
    }
}
