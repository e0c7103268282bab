package io.github.locallm;

/**
 * The backend is reachable but does not have the requested model.
 */
public class ModelNotFoundException extends LlmException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed and what to do next
     */
    public ModelNotFoundException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public ModelNotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}
