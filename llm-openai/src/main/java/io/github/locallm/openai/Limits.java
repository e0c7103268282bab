package io.github.locallm.openai;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * The time limits of calls to a server; {@link Duration#ZERO} means no limit.
 *
 * @param connect to open a connection
 * @param firstToken from sending a request to the first line of the answer (covers loading the model
 *                   and reading the prompt, which on a CPU can take minutes)
 * @param idle the longest gap between two lines of a streamed answer
 * @param request the whole call
 */
record Limits(Duration connect, Duration firstToken, Duration idle, Duration request) {
    static final Duration DEFAULT_CONNECT = Duration.ofSeconds(10);
    static final Duration DEFAULT_FIRST_TOKEN = Duration.ofMinutes(5);
    static final Duration DEFAULT_IDLE = Duration.ofMinutes(2);
    static final Duration DEFAULT_REQUEST = Duration.ZERO;
    static final Limits DEFAULTS = new Limits(DEFAULT_CONNECT, DEFAULT_FIRST_TOKEN, DEFAULT_IDLE, DEFAULT_REQUEST);

    Limits {
        check(connect, "connect");
        check(firstToken, "firstToken");
        check(idle, "idle");
        check(request, "request");
    }

    private static void check(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " time limit must be >= 0: " + d);
        }
    }

    Limits withConnect(Duration d) {
        return new Limits(d, firstToken, idle, request);
    }

    Limits withFirstToken(Duration d) {
        return new Limits(connect, d, idle, request);
    }

    Limits withIdle(Duration d) {
        return new Limits(connect, firstToken, d, request);
    }

    Limits withRequest(Duration d) {
        return new Limits(connect, firstToken, idle, d);
    }

    /**
     * Parses a duration setting: {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, a plain number of
     * seconds, or an ISO-8601 duration ({@code PT30S}); {@code 0} or {@code none} means no limit.
     *
     * @param key the setting, for messages
     * @param value its text
     * @return the duration
     */
    static Duration parse(String key, String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        try {
            if (v.equals("none") || v.equals("off")) {
                return Duration.ZERO;
            }
            if (v.startsWith("p")) {
                return nonNegative(key, value, Duration.parse(value.strip().toUpperCase(Locale.ROOT)));
            }
            if (v.endsWith("ms")) {
                return nonNegative(key, value, Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2).strip())));
            }
            char unit = v.isEmpty() ? ' ' : v.charAt(v.length() - 1);
            String number = Character.isLetter(unit) ? v.substring(0, v.length() - 1).strip() : v;
            double n = Double.parseDouble(number);
            double seconds = switch (unit) {
                case 'h' -> n * 3600;
                case 'm' -> n * 60;
                case 's' -> n;
                default -> {
                    if (Character.isLetter(unit)) {
                        throw new NumberFormatException("unit " + unit);
                    }
                    yield n;
                }
            };
            if (Double.isNaN(seconds) || Double.isInfinite(seconds)) {
                throw new NumberFormatException(value);
            }
            return nonNegative(key, value, Duration.ofNanos(Math.round(seconds * 1e9)));
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException && !(e instanceof NumberFormatException)
                    && e.getMessage() != null && e.getMessage().startsWith(key)) {
                throw e;
            }
            throw new IllegalArgumentException(key + " must be a duration such as 500ms, 30s, 5m or 1h"
                    + " (0 for no limit): '" + value + "'", e);
        }
    }

    private static Duration nonNegative(String key, String value, Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException(key + " must not be negative: '" + value + "'");
        }
        return d;
    }

    /** @return a duration as people write it: {@code 250 ms}, {@code 30 s}, or {@code no limit} */
    static String describe(Duration d) {
        if (d.isZero()) {
            return "no limit";
        }
        if (d.toMillis() < 1000) {
            return d.toMillis() + " ms";
        }
        if (d.toMillis() % 1000 == 0) {
            return d.toSeconds() + " s";
        }
        return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }
}
