package io.github.locallm;

import java.util.OptionalInt;

/**
 * A prompt does not fit the model's context window.
 *
 * <p>When the numbers are known they travel as fields, so callers decide without reading the message:
 * {@link #promptTokens()} the tokens of the prompt, {@link #requestedTokens()} the tokens asked for the
 * reply (or kept for it), {@link #contextLength()} the model's context window.
 *
 * <pre>{@code
 * try {
 *     session.send(text);
 * } catch (ContextOverflowException e) {
 *     int over = e.promptTokens().orElse(0) - e.contextLength().orElse(0);
 * }
 * }</pre>
 */
public class ContextOverflowException extends LlmException {
    private static final long serialVersionUID = 1L;

    /** Marks a count that is not known. */
    private static final int UNKNOWN = -1;

    /** Tokens of the prompt, or -1 when not known. */
    private final int promptTokens;
    /** Tokens asked for the answer, or -1 when not known. */
    private final int requestedTokens;
    /** The context window in tokens, or -1 when not known. */
    private final int contextLength;

    /**
     * Creates the exception without counts (for example when a server only said that the input is too long).
     *
     * @param message what failed and what to do next
     */
    public ContextOverflowException(String message) {
        this(message, null, UNKNOWN, UNKNOWN, UNKNOWN);
    }

    /**
     * Creates the exception with a cause and without counts.
     *
     * @param message what failed and what to do next
     * @param cause the underlying failure
     */
    public ContextOverflowException(String message, Throwable cause) {
        this(message, cause, UNKNOWN, UNKNOWN, UNKNOWN);
    }

    /**
     * Creates the exception with the counts that did not fit.
     *
     * @param message what failed and what to do next
     * @param promptTokens the tokens of the prompt, {@code >= 0}
     * @param requestedTokens the tokens asked for or kept for the reply, {@code >= 0}
     * @param contextLength the model's context window in tokens, {@code >= 0}
     * @throws IllegalArgumentException when a count is negative
     */
    public ContextOverflowException(String message, int promptTokens, int requestedTokens, int contextLength) {
        this(message, null, check("promptTokens", promptTokens), check("requestedTokens", requestedTokens),
                check("contextLength", contextLength));
    }

    /**
     * Creates the exception with the counts that did not fit and a cause.
     *
     * @param message what failed and what to do next
     * @param promptTokens the tokens of the prompt, {@code >= 0}
     * @param requestedTokens the tokens asked for or kept for the reply, {@code >= 0}
     * @param contextLength the model's context window in tokens, {@code >= 0}
     * @param cause the underlying failure
     * @throws IllegalArgumentException when a count is negative
     */
    public ContextOverflowException(String message, int promptTokens, int requestedTokens, int contextLength,
                                    Throwable cause) {
        this(message, cause, check("promptTokens", promptTokens), check("requestedTokens", requestedTokens),
                check("contextLength", contextLength));
    }

    private ContextOverflowException(String message, Throwable cause, int promptTokens, int requestedTokens,
                                     int contextLength) {
        super(message, cause);
        this.promptTokens = promptTokens;
        this.requestedTokens = requestedTokens;
        this.contextLength = contextLength;
    }

    private static int check(String what, int n) {
        if (n < 0) {
            throw new IllegalArgumentException(what + " must be >= 0: " + n);
        }
        return n;
    }

    private static OptionalInt known(int n) {
        return n == UNKNOWN ? OptionalInt.empty() : OptionalInt.of(n);
    }

    /** @return the tokens of the prompt that did not fit, when known */
    public OptionalInt promptTokens() {
        return known(promptTokens);
    }

    /** @return the tokens asked for (or kept for) the reply, when known */
    public OptionalInt requestedTokens() {
        return known(requestedTokens);
    }

    /** @return the model's context window in tokens, when known */
    public OptionalInt contextLength() {
        return known(contextLength);
    }
}
