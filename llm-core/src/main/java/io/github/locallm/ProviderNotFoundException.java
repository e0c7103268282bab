package io.github.locallm;

/**
 * No installed backend accepts a model spec.
 */
public class ProviderNotFoundException extends LlmException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed and what to do next
     */
    public ProviderNotFoundException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public ProviderNotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}
