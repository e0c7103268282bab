package io.github.locallm;

/**
 * A model file or directory exists but cannot be loaded (corrupt, truncated, unsupported format).
 */
public class ModelLoadException extends LlmException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed and what to do next
     */
    public ModelLoadException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
