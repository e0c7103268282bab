package io.github.locallm;

/**
 * The model or backend cannot do what was asked (for example embeddings on a chat-only backend).
 */
public class UnsupportedCapabilityException extends LlmException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what failed and what to do next
     */
    public UnsupportedCapabilityException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public UnsupportedCapabilityException(String message, Throwable cause) {
        super(message, cause);
    }
}
