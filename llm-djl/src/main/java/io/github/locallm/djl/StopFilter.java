package io.github.locallm.djl;

import java.util.List;

/**
 * Holds back generated text that could be the start of a stop sequence, and cuts the text before the
 * first stop sequence that matches, so no part of a stop sequence reaches the caller.
 *
 * <p>Not thread-safe: one filter per generation.
 */
final class StopFilter {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    /** @param stops the stop sequences, each non-empty */
    StopFilter(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /**
     * Adds generated text.
     *
     * @param text new text
     * @return the text now safe to pass on, possibly empty
     */
    String accept(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int first = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        String p = pending.toString();
        int hold = 0;
        for (String s : stops) {
            int max = Math.min(s.length() - 1, p.length());
            for (int len = max; len > hold; len--) {
                if (p.regionMatches(p.length() - len, s, 0, len)) {
                    hold = len;
                    break;
                }
            }
        }
        String out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    /** @return true once a stop sequence matched */
    boolean stopped() {
        return stopped;
    }

    /** @return held-back text at the end of generation, when no stop sequence matched */
    String flush() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }
}
