package io.github.locallm.openai;

/**
 * Assembles server-sent events from lines, as the HTML standard's event-stream rules say: a blank line
 * ends an event; lines starting with {@code :} are comments (keep-alives); {@code data} lines of one event
 * are joined with {@code \n}; one space after the colon is dropped; {@code id} and {@code retry} are
 * ignored; unknown fields are ignored. The field {@code error}, which llama-server writes for a failure
 * in the middle of a stream, becomes an event of type {@code error}. A trailing {@code \r} is dropped so
 * that CRLF streams read the same.
 *
 * <p>The data of one event is capped: a server that sends data lines without ever ending the event is
 * stopped at {@code maxEventChars}.
 *
 * <p>Not thread-safe: one instance per stream.
 */
final class SseEvents {
    /** One dispatched event. */
    record Event(String type, String data) {
        boolean isDone() {
            return type.equals("message") && data.strip().equals("[DONE]");
        }
    }

    /** Thrown when one event's data passes the cap. */
    static final class TooLarge extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final long limit;

        TooLarge(long limit) {
            super("server-sent event larger than " + limit + " characters", null, false, false);
            this.limit = limit;
        }
    }

    private final long maxEventChars;
    private final StringBuilder data = new StringBuilder();
    private boolean hasData;
    private String type = "message";
    private int comments;

    SseEvents(long maxEventChars) {
        this.maxEventChars = maxEventChars;
    }

    /**
     * Takes one line.
     *
     * @param line a line without its line break
     * @return the event that this line completed, or {@code null}
     */
    Event line(String line) {
        if (line.endsWith("\r")) {
            line = line.substring(0, line.length() - 1);
        }
        if (line.isEmpty()) {
            return dispatch();
        }
        if (line.charAt(0) == ':') {
            comments++;
            return null;
        }
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        String value = colon < 0 ? "" : line.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        switch (field) {
            case "data" -> append(value);
            case "event" -> type = value.isEmpty() ? "message" : value;
            case "error" -> {
                type = "error";
                append(value);
            }
            default -> {
                // id, retry and unknown fields carry nothing this client uses
            }
        }
        return null;
    }

    /** @return the event still open when the stream ended, or {@code null} */
    Event end() {
        return dispatch();
    }

    /** @return comment lines seen (keep-alives) */
    int comments() {
        return comments;
    }

    private void append(String value) {
        if (hasData) {
            data.append('\n');
        }
        if ((long) data.length() + value.length() > maxEventChars) {
            throw new TooLarge(maxEventChars);
        }
        data.append(value);
        hasData = true;
    }

    private Event dispatch() {
        if (!hasData) {
            type = "message";
            return null;
        }
        Event e = new Event(type, data.toString());
        data.setLength(0);
        hasData = false;
        type = "message";
        return e;
    }
}
