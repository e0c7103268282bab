package io.github.locallm.http;

import io.github.locallm.LlmException;
import java.util.Objects;

/**
 * A call to a server was ended because it passed one of the client's bounds: a time limit, a line or
 * body size, or the minimum transfer rate. The call's connection is closed; no partial answer is kept.
 *
 * <p>The limit and its value are fields, so callers never parse the message.
 */
public class LimitExceededException extends LlmException {
    private static final long serialVersionUID = 1L;

    /** The limit that was passed. */
    private final Limit limit;
    /** Its value: milliseconds, bytes, or bytes per second. */
    private final long value;

    /**
     * Creates the exception.
     *
     * @param limit the limit that was passed
     * @param value its value: milliseconds for a time limit, bytes for a size, bytes per second for a rate
     * @param message what failed, for which server and call, and which setting raises the limit
     * @param cause the I/O failure the limit caused, or {@code null}
     */
    public LimitExceededException(Limit limit, long value, String message, Throwable cause) {
        super(message, cause);
        this.limit = Objects.requireNonNull(limit, "limit");
        this.value = value;
    }

    /** @return the limit that was passed */
    public Limit limit() {
        return limit;
    }

    /** @return its value: milliseconds for a time limit, bytes for a size, bytes per second for a rate */
    public long value() {
        return value;
    }
}
