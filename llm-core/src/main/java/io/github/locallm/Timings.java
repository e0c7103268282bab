package io.github.locallm;

import java.time.Duration;
import java.util.Objects;

/**
 * How long one generation took.
 *
 * @param timeToFirstToken from the call to the first produced token (the whole call if none)
 * @param total from the call to the terminal signal
 * @param tokensPerSecond completion tokens per second after the first token; 0 when fewer than two tokens
 */
public record Timings(Duration timeToFirstToken, Duration total, double tokensPerSecond) {
    /**
     * Validates the values.
     *
     * @param timeToFirstToken from the call to the first produced token (the whole call if none)
     * @param total from the call to the terminal signal
     * @param tokensPerSecond completion tokens per second after the first token; 0 when fewer than two tokens
     */
    public Timings {
        Objects.requireNonNull(timeToFirstToken, "timeToFirstToken");
        Objects.requireNonNull(total, "total");
        if (tokensPerSecond < 0 || Double.isNaN(tokensPerSecond)) {
            throw new IllegalArgumentException("tokensPerSecond must be >= 0: " + tokensPerSecond);
        }
    }
}
