package io.github.locallm.llamacpp;

import io.github.locallm.spi.TokenSink;

import java.util.List;

/**
 * Passes generated text on, holding back what could be the start of a stop sequence, and cuts the text
 * at the first stop sequence. Not thread-safe: one per generation.
 */
final class StopFilter {

    private final List<String> stops;
    private final TokenSink downstream;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    StopFilter(List<String> stops, TokenSink downstream) {
        this.stops = stops;
        this.downstream = downstream;
    }

    /** Takes a piece; returns true once a stop sequence matched (nothing more is passed on after that). */
    boolean accept(String piece) {
        if (stopped) {
            return true;
        }
        if (stops.isEmpty()) {
            downstream.token(piece);
            return false;
        }
        pending.append(piece);
        int first = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (first < 0 || i < first)) {
                first = i;
            }
        }
        if (first >= 0) {
            emit(pending.substring(0, first));
            pending.setLength(0);
            stopped = true;
            return true;
        }
        int keep = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, pending.length()); k > keep; k--) {
                if (pending.substring(pending.length() - k).equals(s.substring(0, k))) {
                    keep = k;
                    break;
                }
            }
        }
        int cut = pending.length() - keep;
        if (cut > 0 && Character.isHighSurrogate(pending.charAt(cut - 1))) {
            cut--;
        }
        emit(pending.substring(0, cut));
        pending.delete(0, cut);
        return false;
    }

    /** Passes on what was held back, if no stop sequence matched. */
    void flush() {
        if (!stopped) {
            emit(pending.toString());
            pending.setLength(0);
        }
    }

    boolean stopped() {
        return stopped;
    }

    private void emit(String s) {
        if (!s.isEmpty()) {
            downstream.token(s);
        }
    }
}
