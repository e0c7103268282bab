package io.github.locallm;

import java.util.List;
import java.util.Objects;

/**
 * The log probability of one generated token, with the most likely alternatives at its position when
 * they were asked for ({@link GenerationOptions.Builder#topLogprobs(int)}).
 *
 * <p>Backends fill it from what their server or engine reports; the same shape serves every backend.
 *
 * @param token the token's text as the backend reports it (may be part of a character)
 * @param logprob its natural-log probability, at most 0
 * @param bytes the token's UTF-8 bytes (each in [0, 255]) when the backend reports them, else empty
 * @param topLogprobs the most likely tokens at this position, most likely first; empty when not asked
 *                    for; alternatives have no alternatives of their own
 */
public record TokenLogprob(String token, double logprob, List<Integer> bytes, List<TokenLogprob> topLogprobs) {
    /**
     * Validates and copies the values.
     *
     * @param token the token's text as the backend reports it
     * @param logprob its natural-log probability
     * @param bytes the token's UTF-8 bytes, or empty
     * @param topLogprobs the most likely tokens at this position, or empty
     */
    public TokenLogprob {
        Objects.requireNonNull(token, "token");
        if (Double.isNaN(logprob)) {
            throw new IllegalArgumentException("logprob must be a number: " + logprob);
        }
        bytes = List.copyOf(bytes);
        for (Integer b : bytes) {
            if (b < 0 || b > 255) {
                throw new IllegalArgumentException("token bytes must be in [0, 255]: " + b);
            }
        }
        topLogprobs = List.copyOf(topLogprobs);
    }

    /**
     * @param token the token's text
     * @param logprob its natural-log probability
     * @return an entry without bytes and alternatives
     */
    public static TokenLogprob of(String token, double logprob) {
        return new TokenLogprob(token, logprob, List.of(), List.of());
    }

    /** @return the probability, {@code exp(logprob)} */
    public double probability() {
        return Math.exp(logprob);
    }
}
