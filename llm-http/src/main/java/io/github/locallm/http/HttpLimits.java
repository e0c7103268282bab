package io.github.locallm.http;

import io.github.locallm.spi.OptionValues;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The bounds of the calls of one HTTP backend: time limits, a minimum transfer rate and size caps. A
 * time limit or rate of zero means none.
 *
 * <p>The defaults suit a large model on a slow CPU (minutes to load and read a long prompt, seconds per
 * token) and still end a dead or drip-feeding connection:
 * <ul>
 *   <li>connect {@value #DEFAULT_CONNECT_SECONDS} s (TCP, proxy and TLS handshake);</li>
 *   <li>first byte {@value #DEFAULT_FIRST_BYTE_MINUTES} min (model load and prompt reading);</li>
 *   <li>idle {@value #DEFAULT_IDLE_MINUTES} min between two lines of a stream;</li>
 *   <li>the whole request {@value #DEFAULT_REQUEST_MINUTES} min (some 2000 tokens at half a token per
 *       second), for generation; model transfers (pull, push, uploads) take {@link #forTransfers()};</li>
 *   <li>at least {@value #DEFAULT_MIN_BYTES_PER_SECOND} byte/s averaged over
 *       {@value #DEFAULT_RATE_WINDOW_SECONDS} s once the answer has begun, so a server that sends a byte a
 *       minute, or keeps a stream alive with blank lines, is cut off;</li>
 *   <li>lines of a stream up to {@value #DEFAULT_MAX_LINE_BYTES} bytes, bodies up to
 *       {@value #DEFAULT_MAX_BODY_BYTES} bytes and whole streams up to {@value #DEFAULT_MAX_STREAM_BYTES}
 *       bytes, counted after decompression (model transfers have no stream cap: their progress lines are
 *       bounded by time instead).</li>
 * </ul>
 *
 * <pre>{@code
 * HttpLimits limits = HttpLimits.defaults().toBuilder()
 *         .firstByte(Duration.ofMinutes(30))
 *         .maxBodyBytes(256L << 20)
 *         .build();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class HttpLimits {
    /** Default connect limit, in seconds. */
    public static final long DEFAULT_CONNECT_SECONDS = 10;
    /** Default limit to the first byte of an answer, in minutes. */
    public static final long DEFAULT_FIRST_BYTE_MINUTES = 10;
    /** Default limit between two lines of a stream, in minutes. */
    public static final long DEFAULT_IDLE_MINUTES = 2;
    /** Default limit of a whole generation request, in minutes. */
    public static final long DEFAULT_REQUEST_MINUTES = 60;
    /** Default minimum transfer rate, in bytes per second. */
    public static final long DEFAULT_MIN_BYTES_PER_SECOND = 1;
    /** Default window over which the rate is averaged, in seconds. */
    public static final long DEFAULT_RATE_WINDOW_SECONDS = 120;
    /** Default longest line of a stream, in bytes. */
    public static final long DEFAULT_MAX_LINE_BYTES = 8L << 20;
    /** Default largest body, in bytes after decompression. */
    public static final long DEFAULT_MAX_BODY_BYTES = 32L << 20;
    /** Default most bytes of a streamed answer, after decompression. */
    public static final long DEFAULT_MAX_STREAM_BYTES = 256L << 20;

    private static final HttpLimits DEFAULTS = new Builder().build();

    private final Duration connect;
    private final Duration firstByte;
    private final Duration idle;
    private final Duration request;
    private final long minBytesPerSecond;
    private final Duration rateWindow;
    private final long maxLineBytes;
    private final long maxBodyBytes;
    private final long maxStreamBytes;

    private HttpLimits(Builder b) {
        this.connect = b.connect;
        this.firstByte = b.firstByte;
        this.idle = b.idle;
        this.request = b.request;
        this.minBytesPerSecond = b.minBytesPerSecond;
        this.rateWindow = b.rateWindow;
        this.maxLineBytes = b.maxLineBytes;
        this.maxBodyBytes = b.maxBodyBytes;
        this.maxStreamBytes = b.maxStreamBytes;
    }

    /** The setting of the window over which {@link Limit#MIN_RATE} is averaged. */
    public static final String RATE_WINDOW_SETTING = "min_rate_window";

    /** The settings {@link #fromSettings} reads: each {@link Limit#setting()} and {@link #RATE_WINDOW_SETTING}. */
    public static final List<String> SETTINGS = java.util.stream.Stream.concat(
            java.util.Arrays.stream(Limit.values()).map(Limit::setting), java.util.stream.Stream.of(RATE_WINDOW_SETTING))
            .toList();

    /**
     * Reads the limits from a backend's settings (the spec's query and {@code OpenOptions}), starting from
     * the defaults: {@code connect_timeout}, {@code first_token_timeout}, {@code idle_timeout},
     * {@code request_timeout}, {@code min_rate_window} (durations, see {@link #parseDuration}),
     * {@code min_bytes_per_second}, and {@code max_line_bytes}, {@code max_body_bytes},
     * {@code max_stream_bytes} (sizes, see {@link #parseSize}).
     *
     * @param request the open request
     * @return the limits
     * @throws IllegalArgumentException naming the setting whose value is wrong
     */
    public static HttpLimits fromSettings(io.github.locallm.spi.OpenRequest request) {
        Builder b = builder();
        request.string(Limit.CONNECT.setting()).ifPresent(v -> b.connect(parseDuration(Limit.CONNECT.setting(), v)));
        request.string(Limit.FIRST_BYTE.setting())
                .ifPresent(v -> b.firstByte(parseDuration(Limit.FIRST_BYTE.setting(), v)));
        request.string(Limit.IDLE.setting()).ifPresent(v -> b.idle(parseDuration(Limit.IDLE.setting(), v)));
        request.string(Limit.REQUEST.setting()).ifPresent(v -> b.request(parseDuration(Limit.REQUEST.setting(), v)));
        request.integer(Limit.MIN_RATE.setting(), 0).ifPresent(v -> b.minRate(v, DEFAULTS.rateWindow()));
        request.string(RATE_WINDOW_SETTING).ifPresent(v -> {
            try {
                b.rateWindow(parseDuration(RATE_WINDOW_SETTING, v));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(RATE_WINDOW_SETTING + " must be a duration of at least 1s: '"
                        + shorten(v) + "'", e);
            }
        });
        request.string(Limit.STREAM_SIZE.setting())
                .ifPresent(v -> b.maxStreamBytes(parseSize(Limit.STREAM_SIZE.setting(), v)));
        request.string(Limit.LINE_LENGTH.setting())
                .ifPresent(v -> b.maxLineBytes(parseSize(Limit.LINE_LENGTH.setting(), v)));
        request.string(Limit.BODY_SIZE.setting())
                .ifPresent(v -> b.maxBodyBytes(parseSize(Limit.BODY_SIZE.setting(), v)));
        return b.build();
    }

    /** @return the default limits */
    public static HttpLimits defaults() {
        return DEFAULTS;
    }

    /** @return a builder starting from the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding these limits */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.connect = connect;
        b.firstByte = firstByte;
        b.idle = idle;
        b.request = request;
        b.minBytesPerSecond = minBytesPerSecond;
        b.rateWindow = rateWindow;
        b.maxLineBytes = maxLineBytes;
        b.maxBodyBytes = maxBodyBytes;
        b.maxStreamBytes = maxStreamBytes;
        return b;
    }

    /**
     * Limits for transfers of model data (pull, push, create, uploads), which may take hours and pause for
     * minutes while a server verifies or converts gigabytes without a progress line: no whole-request limit
     * and no stream cap (unless a request limit shorter than the default was set: then these limits are kept
     * as they are), no minimum rate, and an idle limit of at least the first-byte limit. The idle limit and
     * the line cap still end a stalled or hostile transfer.
     *
     * @return the limits for transfers
     */
    public HttpLimits forTransfers() {
        if (!request.isZero() && request.compareTo(Duration.ofMinutes(DEFAULT_REQUEST_MINUTES)) < 0) {
            return this;
        }
        Duration transferIdle = idle.isZero() || firstByte.isZero() || idle.compareTo(firstByte) >= 0 ? idle : firstByte;
        return toBuilder().request(Duration.ZERO).maxStreamBytes(Long.MAX_VALUE).minRate(0, rateWindow)
                .idle(transferIdle).build();
    }

    /** @return time to open a connection; zero for none */
    public Duration connect() {
        return connect;
    }

    /** @return time from sending a request to the first line of the answer; zero for none */
    public Duration firstByte() {
        return firstByte;
    }

    /** @return longest gap between two lines of a stream; zero for none */
    public Duration idle() {
        return idle;
    }

    /** @return time of the whole call; zero for none */
    public Duration request() {
        return request;
    }

    /** @return least bytes per second once the answer has begun, averaged over {@link #rateWindow()}; 0 for none */
    public long minBytesPerSecond() {
        return minBytesPerSecond;
    }

    /** @return the window over which the transfer rate is averaged */
    public Duration rateWindow() {
        return rateWindow;
    }

    /** @return longest line of a streamed answer, in bytes */
    public long maxLineBytes() {
        return maxLineBytes;
    }

    /** @return largest body of an answer that is not streamed, in bytes after decompression */
    public long maxBodyBytes() {
        return maxBodyBytes;
    }

    /** @return most bytes of a whole streamed answer, after decompression */
    public long maxStreamBytes() {
        return maxStreamBytes;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HttpLimits l && connect.equals(l.connect) && firstByte.equals(l.firstByte)
                && idle.equals(l.idle) && request.equals(l.request) && minBytesPerSecond == l.minBytesPerSecond
                && rateWindow.equals(l.rateWindow) && maxLineBytes == l.maxLineBytes && maxBodyBytes == l.maxBodyBytes
                && maxStreamBytes == l.maxStreamBytes;
    }

    @Override
    public int hashCode() {
        return Objects.hash(connect, firstByte, idle, request, minBytesPerSecond, rateWindow, maxLineBytes, maxBodyBytes,
                maxStreamBytes);
    }

    @Override
    public String toString() {
        return "HttpLimits{connect=" + describe(connect) + ", firstByte=" + describe(firstByte) + ", idle="
                + describe(idle) + ", request=" + describe(request) + ", minRate=" + minBytesPerSecond + " B/s over "
                + describe(rateWindow) + ", maxLine=" + maxLineBytes + " B, maxBody=" + maxBodyBytes + " B, maxStream=" + maxStreamBytes + " B}";
    }

    /**
     * Parses a duration setting: {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, a plain number of
     * seconds, or an ISO-8601 duration ({@code PT30S}); {@code 0}, {@code none} or {@code off} mean no limit.
     *
     * @param key the setting, for messages
     * @param value its text
     * @return the duration
     * @throws IllegalArgumentException naming the setting when the text is not a duration
     */
    public static Duration parseDuration(String key, String value) {
        Objects.requireNonNull(value, key);
        String v = value.strip().toLowerCase(Locale.ROOT);
        if (v.equals("none") || v.equals("off")) {
            return Duration.ZERO;
        }
        // the grammar of a duration is core's, shared with every other setting of the project
        return OptionValues.parseDuration(value).orElseThrow(() -> new IllegalArgumentException(key
                + " must be a duration such as 500ms, 30s, 5m or 1h, not negative (0 for no limit): '"
                + shorten(value) + "'"));
    }

    /**
     * Parses a size setting: a number of bytes, or with a unit {@code k}/{@code kb}/{@code kib},
     * {@code m}/{@code mb}/{@code mib}, {@code g}/{@code gb}/{@code gib} (all binary: 1k = 1024 bytes).
     *
     * @param key the setting, for messages
     * @param value its text
     * @return the size in bytes, at least 1
     * @throws IllegalArgumentException naming the setting when the text is not a positive size
     */
    public static long parseSize(String key, String value) {
        Objects.requireNonNull(value, key);
        String v = value.strip().toLowerCase(Locale.ROOT).replace(" ", "");
        long unit = 1;
        String number = v;
        String[][] units = {{"gib", "gb", "g"}, {"mib", "mb", "m"}, {"kib", "kb", "k"}, {"b"}};
        long[] factors = {1L << 30, 1L << 20, 1L << 10, 1};
        outer:
        for (int i = 0; i < units.length; i++) {
            for (String u : units[i]) {
                if (v.endsWith(u)) {
                    unit = factors[i];
                    number = v.substring(0, v.length() - u.length());
                    break outer;
                }
            }
        }
        try {
            if (number.length() > 19) {
                throw new NumberFormatException("too long");
            }
            long n = Long.parseLong(number);
            if (n < 1) {
                throw new IllegalArgumentException(key + " must be at least 1 byte: '" + value + "'");
            }
            return Math.multiplyExact(n, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(key + " must be a size such as 65536, 512k or 16m: '"
                    + shorten(value) + "'", e);
        }
    }

    /**
     * @param d a duration
     * @return it as people write it: {@code 250 ms}, {@code 30 s}, or {@code no limit} for zero
     */
    public static String describe(Duration d) {
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

    private static String shorten(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "..." : s;
    }

    /**
     * Builds {@link HttpLimits}, starting from the defaults; every setter validates at once.
     *
     * <p>A builder is not thread-safe.
     */
    public static final class Builder {
        private Duration connect = Duration.ofSeconds(DEFAULT_CONNECT_SECONDS);
        private Duration firstByte = Duration.ofMinutes(DEFAULT_FIRST_BYTE_MINUTES);
        private Duration idle = Duration.ofMinutes(DEFAULT_IDLE_MINUTES);
        private Duration request = Duration.ofMinutes(DEFAULT_REQUEST_MINUTES);
        private long minBytesPerSecond = DEFAULT_MIN_BYTES_PER_SECOND;
        private Duration rateWindow = Duration.ofSeconds(DEFAULT_RATE_WINDOW_SECONDS);
        private long maxLineBytes = DEFAULT_MAX_LINE_BYTES;
        private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
        private long maxStreamBytes = DEFAULT_MAX_STREAM_BYTES;

        private Builder() {
        }

        /**
         * @param d time to open a connection; zero for none
         * @return this builder
         */
        public Builder connect(Duration d) {
            connect = time("connect", d);
            return this;
        }

        /**
         * @param d time to the first line of an answer; zero for none
         * @return this builder
         */
        public Builder firstByte(Duration d) {
            firstByte = time("firstByte", d);
            return this;
        }

        /**
         * @param d longest gap between two lines of a stream; zero for none
         * @return this builder
         */
        public Builder idle(Duration d) {
            idle = time("idle", d);
            return this;
        }

        /**
         * @param d time of the whole call; zero for none
         * @return this builder
         */
        public Builder request(Duration d) {
            request = time("request", d);
            return this;
        }

        /**
         * @param bytesPerSecond least bytes per second once an answer has begun; 0 for none
         * @param window the window the rate is averaged over, at least 1 s
         * @return this builder
         */
        public Builder minRate(long bytesPerSecond, Duration window) {
            if (bytesPerSecond < 0) {
                throw new IllegalArgumentException("minimum rate must be >= 0 bytes/s: " + bytesPerSecond);
            }
            Objects.requireNonNull(window, "window");
            if (window.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("rate window must be at least 1 s: " + window);
            }
            minBytesPerSecond = bytesPerSecond;
            rateWindow = window;
            return this;
        }

        /**
         * @param bytes longest line of a streamed answer, at least 1
         * @return this builder
         */
        public Builder maxLineBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxLineBytes must be >= 1: " + bytes);
            }
            maxLineBytes = bytes;
            return this;
        }

        /**
         * @param bytes largest body of an answer that is not streamed, after decompression, at least 1
         * @return this builder
         */
        public Builder maxBodyBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes must be >= 1: " + bytes);
            }
            maxBodyBytes = bytes;
            return this;
        }

        /**
         * @param bytes most bytes of a whole streamed answer, after decompression, at least 1
         * @return this builder
         */
        public Builder maxStreamBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxStreamBytes must be >= 1: " + bytes);
            }
            maxStreamBytes = bytes;
            return this;
        }

        /**
         * @param window the window the minimum rate is averaged over, at least 1 s
         * @return this builder
         */
        public Builder rateWindow(Duration window) {
            return minRate(minBytesPerSecond, window);
        }

        /** @return the limits */
        public HttpLimits build() {
            return new HttpLimits(this);
        }

        private static Duration time(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.isNegative()) {
                throw new IllegalArgumentException(name + " time limit must be >= 0: " + d);
            }
            return d;
        }
    }
}
