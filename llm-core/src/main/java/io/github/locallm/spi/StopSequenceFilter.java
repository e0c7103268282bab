package io.github.locallm.spi;

import java.util.List;
import java.util.Objects;

/**
 * Cuts generated text at the first stop sequence, for backends that must honour stop sequences
 * themselves while streaming.
 *
 * <p>Pieces go in through {@link #accept(String)}; text reaches the downstream sink as soon as it can no
 * longer be the start of a stop sequence. Only a suffix that could still begin a stop sequence is held
 * back. Once a stop sequence matched, the text before it has been forwarded, the match and everything
 * after it never is, and {@link #accept(String)} returns {@code true}: the backend should then stop
 * generating and report {@link io.github.locallm.FinishReason#STOP}. When generation ends without a
 * match, {@link #flush()} forwards what was held back.
 *
 * <pre>{@code
 * StopSequenceFilter filter = new StopSequenceFilter(request.options().stop(), sink);
 * for (String piece : pieces) {
 *     if (filter.accept(piece)) {
 *         return BackendResult.of(FinishReason.STOP, promptTokens, produced);
 *     }
 * }
 * filter.flush();
 * }</pre>
 *
 * <p>When several stop sequences could match, the one that completes first wins. With no stop
 * sequences every piece is forwarded at once.
 *
 * <p>Not thread-safe: use one filter per generation, on the generating thread.
 */
public final class StopSequenceFilter {
    private final List<String> stops;
    private final TokenSink downstream;
    private final int longestStop;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    /**
     * Creates a filter.
     *
     * @param stops the stop sequences, each non-empty; may be empty
     * @param downstream where forwarded text goes
     * @throws IllegalArgumentException when a stop sequence is empty
     */
    public StopSequenceFilter(List<String> stops, TokenSink downstream) {
        this.stops = List.copyOf(Objects.requireNonNull(stops, "stops"));
        this.downstream = Objects.requireNonNull(downstream, "downstream");
        int longest = 0;
        for (String s : this.stops) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop sequence must not be empty");
            }
            longest = Math.max(longest, s.length());
        }
        this.longestStop = longest;
    }

    /**
     * Takes the next piece of generated text.
     *
     * @param piece the piece; an empty piece changes nothing
     * @return true once a stop sequence matched (also for every call after that, which forwards nothing)
     */
    public boolean accept(String piece) {
        Objects.requireNonNull(piece, "piece");
        if (stopped) {
            return true;
        }
        if (stops.isEmpty()) {
            forward(piece);
            return false;
        }
        pending.append(piece);
        int match = firstMatch();
        if (match >= 0) {
            stopped = true;
            forward(pending.substring(0, match));
            pending.setLength(0);
            return true;
        }
        int cut = pending.length() - heldSuffixLength();
        if (cut > 0 && Character.isHighSurrogate(pending.charAt(cut - 1))) {
            // never split a surrogate pair between what is forwarded and what is held
            cut--;
        }
        if (cut > 0) {
            forward(pending.substring(0, cut));
            pending.delete(0, cut);
        }
        return false;
    }

    /** Forwards the text held back, if no stop sequence matched. Call once when generation ended. */
    public void flush() {
        if (!stopped && pending.length() > 0) {
            forward(pending.toString());
        }
        pending.setLength(0);
    }

    /** @return true once a stop sequence matched */
    public boolean stopped() {
        return stopped;
    }

    // The earliest end position decides which stop sequence "completes first"; ties go to the earlier start.
    private int firstMatch() {
        int bestStart = -1;
        int bestEnd = Integer.MAX_VALUE;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0) {
                int end = i + s.length();
                if (end < bestEnd || (end == bestEnd && i < bestStart)) {
                    bestEnd = end;
                    bestStart = i;
                }
            }
        }
        return bestStart;
    }

    private int heldSuffixLength() {
        int max = Math.min(pending.length(), longestStop - 1);
        for (int len = max; len > 0; len--) {
            int from = pending.length() - len;
            for (String s : stops) {
                if (s.length() > len && regionMatches(from, s, len)) {
                    return len;
                }
            }
        }
        return 0;
    }

    private boolean regionMatches(int from, String stop, int len) {
        for (int k = 0; k < len; k++) {
            if (pending.charAt(from + k) != stop.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private void forward(String text) {
        if (!text.isEmpty()) {
            downstream.token(text);
        }
    }
}
