package io.github.locallm;

import java.util.Optional;

/**
 * The model or backend cannot do what was asked (for example embeddings on a chat-only backend).
 *
 * <p>When the refusal is about one {@link Capability}, {@link #capability()} names it, so callers decide
 * without reading the message.
 *
 * <pre>{@code
 * try {
 *     llm.embed("text");
 * } catch (UnsupportedCapabilityException e) {
 *     if (e.capability().orElse(null) == Capability.EMBEDDINGS) {
 *         // open an embedding model
 *     }
 * }
 * }</pre>
 */
public class UnsupportedCapabilityException extends LlmException {
    private static final long serialVersionUID = 1L;

    /** The capability that was asked for, or null when the refusal names none. */
    private final Capability capability;

    /**
     * Creates the exception for something that is not one capability (an option, a setting).
     *
     * @param message what failed and what to do next
     */
    public UnsupportedCapabilityException(String message) {
        this(message, (Capability) null, null);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public UnsupportedCapabilityException(String message, Throwable cause) {
        this(message, null, cause);
    }

    /**
     * Creates the exception for a capability the model lacks.
     *
     * @param message what failed and what to do next
     * @param capability the capability that is missing, or {@code null} when the refusal is about something else
     */
    public UnsupportedCapabilityException(String message, Capability capability) {
        this(message, capability, null);
    }

    /**
     * Creates the exception for a capability the model lacks, with a cause.
     *
     * @param message what failed and what to do next
     * @param capability the capability that is missing, or {@code null} when the refusal is about something else
     * @param cause the underlying failure, or {@code null}
     */
    public UnsupportedCapabilityException(String message, Capability capability, Throwable cause) {
        super(message, cause);
        this.capability = capability;
    }

    /** @return the capability the model lacks, when the refusal is about one */
    public Optional<Capability> capability() {
        return Optional.ofNullable(capability);
    }
}
