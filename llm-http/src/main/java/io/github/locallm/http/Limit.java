package io.github.locallm.http;

/**
 * The bounds an HTTP backend keeps on every call, each named by a {@link LimitExceededException} when it
 * is passed, with the setting that changes it.
 */
public enum Limit {
    /** Time to open a connection (TCP, proxy and TLS handshake). */
    CONNECT("connect_timeout"),
    /** Time from sending a request to the first line or byte of the answer. */
    FIRST_BYTE("first_token_timeout"),
    /** Longest gap between two lines of a streamed answer (or two reads of a body). */
    IDLE("idle_timeout"),
    /** Time of the whole call. */
    REQUEST("request_timeout"),
    /** Least bytes per second, averaged over a window, once the answer has begun. */
    MIN_RATE("min_bytes_per_second"),
    /** Longest line of a streamed answer (NDJSON or SSE), in bytes. */
    LINE_LENGTH("max_line_bytes"),
    /** Largest body of an answer that is not streamed, in bytes after decompression. */
    BODY_SIZE("max_body_bytes"),
    /** Most bytes of a whole streamed answer, after decompression (an endless stream ends here). */
    STREAM_SIZE("max_stream_bytes");

    private final String setting;

    Limit(String setting) {
        this.setting = setting;
    }

    /** @return the name of the setting that changes this limit, such as {@code idle_timeout} */
    public String setting() {
        return setting;
    }

    /** @return true for the limits measured in time */
    public boolean isTime() {
        return this == CONNECT || this == FIRST_BYTE || this == IDLE || this == REQUEST;
    }
}
