package io.github.locallm.http;

import io.github.locallm.LlmException;

/**
 * A server answered with something that is not what its protocol allows: bytes that are not UTF-8, a
 * line that is not JSON, a field of the wrong type. The call is ended; nothing of it is repaired
 * silently (no U+FFFD replacement, no guessing).
 */
public class MalformedResponseException extends LlmException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong, from which server during which call
     * @param cause the parse failure, or {@code null}
     */
    public MalformedResponseException(String message, Throwable cause) {
        super(message, cause);
    }
}
