package io.github.locallm.format;

import io.github.locallm.ToolCall;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Takes generated text apart while it streams: answer text, reasoning and tool calls, as one
 * {@link ChatFormat} writes them.
 *
 * <p>Feed the pieces in order with {@link #accept(String)}; answer text goes to
 * {@link Listener#onText(String)} and reasoning to {@link Listener#onThinking(String)} as soon as it is
 * certain that they are not the start of markup (a piece that could begin a tool call or a reasoning
 * block is held back until the next piece decides). Tool-call markup never reaches the listener.
 * {@link #finish()} ends the output and returns the whole {@link ParsedOutput}; the text passed to
 * {@code onText} concatenates exactly to {@link ParsedOutput#text()}, whatever the split into pieces.
 * Whitespace around markup is dropped: the text has no leading or trailing whitespace.
 *
 * <p>Markup that does not parse (a tool call whose arguments are not JSON, for example) is given back as
 * answer text rather than lost; so is a call that names a tool the request did not offer, when the parser
 * knows the offered tools ({@link ChatFormat#newParser(String, Listener, java.util.Collection)}): the caller
 * only ever receives calls it can run. The unit is one block of markup: a block holding several calls is read
 * only when every call in it names an offered tool, and is otherwise given back whole.
 *
 * <p>Not thread-safe: one parser follows one generation.
 */
public final class OutputParser {
    /** Receives the answer text and the reasoning as they are recognised. */
    public interface Listener {
        /**
         * A piece of answer text.
         *
         * @param text the piece, never empty
         */
        void onText(String text);

        /**
         * A piece of reasoning text.
         *
         * @param thinking the piece, never empty
         */
        void onThinking(String thinking);

        /** A listener that ignores everything (for parsing a complete output). */
        Listener NONE = new Listener() {
            @Override
            public void onText(String text) {
            }

            @Override
            public void onThinking(String thinking) {
            }
        };
    }

    /** Kinds of marked-up regions. */
    enum Kind { THINKING, TOOL, TEXT, HEADER, MARKER }

    /** A tool call as a format's body parser reads it; the id may be empty. */
    record Call(String id, String name, Object arguments) {
    }

    /** Reads the calls out of the body of a tool region; throws IllegalArgumentException if it does not parse. */
    interface BodyParser {
        List<Call> parse(String header, String body);
    }

    /** Decides where the output continues after a header ({@code null}: plain text). */
    interface HeaderRouter {
        Region route(String header);
    }

    /**
     * A region of output: opened by {@code open} in text, closed by the first of {@code closes} (or the end of
     * the output). A close that is also an opener of text mode is left in place to open the next region.
     */
    record Region(String open, List<String> closes, Kind kind, BodyParser body, HeaderRouter router,
                  String header) {
        Region withHeader(String h) {
            return new Region(open, closes, kind, body, router, h);
        }
    }

    private final Syntax syntax;
    private final Listener listener;
    /** The names a call may have, or {@code null} for any name. */
    private final Set<String> offered;
    private final StringBuilder pending = new StringBuilder();
    private final StringBuilder regionText = new StringBuilder();
    private final Trimmed text;
    private final Trimmed thinking;
    private final List<ToolCall> calls = new ArrayList<>();
    private Region region;
    private boolean sawNonWhitespace;
    private boolean finished;

    OutputParser(Syntax syntax, Region initial, Listener listener, Set<String> offered) {
        this.syntax = syntax;
        this.offered = offered == null ? null : Set.copyOf(offered);
        this.listener = Objects.requireNonNull(listener, "listener");
        this.region = initial;
        this.text = new Trimmed(listener::onText);
        this.thinking = new Trimmed(listener::onThinking);
    }

    /**
     * Feeds the next piece of generated text.
     *
     * @param piece the text, possibly empty
     * @throws IllegalStateException after {@link #finish()}
     */
    public void accept(String piece) {
        Objects.requireNonNull(piece, "piece");
        if (finished) {
            throw new IllegalStateException("the output was already finished");
        }
        pending.append(piece);
        process(false);
    }

    /**
     * Ends the output: whatever was held back is decided, unterminated regions end here.
     *
     * @return the answer, reasoning and tool calls
     * @throws IllegalStateException if called twice
     */
    public ParsedOutput finish() {
        if (finished) {
            throw new IllegalStateException("the output was already finished");
        }
        process(true);
        finished = true;
        return new ParsedOutput(text.all.toString(), thinking.all.toString(), calls);
    }

    /** @return the tool calls recognised so far */
    public List<ToolCall> toolCalls() {
        return List.copyOf(calls);
    }

    private void process(boolean end) {
        while (true) {
            if (region == null) {
                if (!processText(end)) {
                    return;
                }
            } else if (!processRegion(end)) {
                return;
            }
        }
    }

    /** Text mode: looks for the earliest opener; returns true when it entered a region. */
    private boolean processText(boolean end) {
        if (!sawNonWhitespace && syntax.leadingJson() != null) {
            int i = 0;
            while (i < pending.length() && Character.isWhitespace(pending.charAt(i))) {
                i++;
            }
            if (i < pending.length()) {
                sawNonWhitespace = true;
                if (pending.charAt(i) == '{' || pending.charAt(i) == '[') {
                    pending.delete(0, i);
                    region = syntax.leadingJson();
                    regionText.setLength(0);
                    return true;
                }
            } else if (!end) {
                return false;
            }
        }
        int best = -1;
        Region opened = null;
        for (Region r : syntax.regions()) {
            int at = pending.indexOf(r.open());
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
                opened = r;
            }
        }
        if (opened != null) {
            emitText(pending.substring(0, best));
            pending.delete(0, best + opened.open().length());
            region = opened.kind() == Kind.MARKER ? null : opened;
            regionText.setLength(0);
            return true;
        }
        int keep = end ? 0 : heldPrefix(pending, syntax.openers());
        emitText(pending.substring(0, pending.length() - keep));
        pending.delete(0, pending.length() - keep);
        return false;
    }

    /** Inside a region: looks for its close; returns true when it left the region. */
    private boolean processRegion(boolean end) {
        int best = -1;
        String close = null;
        for (String c : region.closes()) {
            int at = pending.indexOf(c);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
                close = c;
            }
        }
        if (close == null) {
            int keep = end ? 0 : heldPrefix(pending, region.closes());
            String content = pending.substring(0, pending.length() - keep);
            pending.delete(0, pending.length() - keep);
            regionContent(content);
            if (end) {
                closeRegion(null);
                return region != null || pending.length() > 0;
            }
            return false;
        }
        regionContent(pending.substring(0, best));
        boolean reopen = syntax.openers().contains(close);
        pending.delete(0, best + (reopen ? 0 : close.length()));
        closeRegion(close);
        return true;
    }

    private void regionContent(String content) {
        if (content.isEmpty()) {
            return;
        }
        switch (region.kind()) {
            case THINKING -> thinking.emit(content);
            case TEXT -> emitText(content);
            default -> regionText.append(content);
        }
    }

    private void closeRegion(String close) {
        Region r = region;
        region = null;
        String body = regionText.toString();
        regionText.setLength(0);
        switch (r.kind()) {
            case HEADER -> {
                Region next = r.router().route(body.strip());
                if (next == null && close == null) {
                    emitText(body);
                }
                region = next == null ? null : next.withHeader(body.strip());
            }
            case TOOL -> {
                List<Call> parsed;
                try {
                    parsed = r.body().parse(r.header(), body);
                } catch (RuntimeException e) {
                    parsed = null;
                }
                if (parsed != null && offered != null && !parsed.stream().allMatch(c -> offered.contains(c.name()))) {
                    // a call to a tool that was not offered cannot be run: the markup stays text
                    parsed = null;
                }
                if (parsed == null || parsed.isEmpty()) {
                    emitText(r.open() + body + (close == null || syntax.openers().contains(close) ? "" : close));
                } else {
                    for (Call c : parsed) {
                        calls.add(new ToolCall(c.id().isEmpty() ? newId() : c.id(), c.name(),
                                Formats.compactJson(c.arguments())));
                    }
                }
            }
            default -> {
            }
        }
    }

    private void emitText(String s) {
        text.emit(s);
    }

    /** A stream of text whose whitespace at both ends is dropped: inner whitespace is held until more text follows. */
    private static final class Trimmed {
        final StringBuilder all = new StringBuilder();
        private final StringBuilder held = new StringBuilder();
        private final java.util.function.Consumer<String> sink;
        private boolean started;

        Trimmed(java.util.function.Consumer<String> sink) {
            this.sink = sink;
        }

        void emit(String s) {
            int start = 0;
            if (!started) {
                while (start < s.length() && Character.isWhitespace(s.charAt(start))) {
                    start++;
                }
            }
            int end = s.length();
            while (end > start && Character.isWhitespace(s.charAt(end - 1))) {
                end--;
            }
            if (end == start) {
                if (started) {
                    held.append(s, start, s.length());
                }
                return;
            }
            String piece = held + s.substring(start, end);
            held.setLength(0);
            held.append(s, end, s.length());
            started = true;
            all.append(piece);
            sink.accept(piece);
        }
    }

    /** The length of the longest end of {@code s} that could begin one of {@code marks}. */
    static int heldPrefix(CharSequence s, List<String> marks) {
        int best = 0;
        for (String m : marks) {
            for (int k = Math.min(m.length() - 1, s.length()); k > best; k--) {
                if (m.regionMatches(0, s.toString(), s.length() - k, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    private static final String ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /** Nine letters and digits, the id form every supported template accepts. */
    static String newId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        StringBuilder sb = new StringBuilder(9);
        for (int i = 0; i < 9; i++) {
            sb.append(ID_CHARS.charAt(r.nextInt(ID_CHARS.length())));
        }
        return sb.toString();
    }

    /** The regions of one family's output and where generation starts. */
    record Syntax(List<Region> regions, Region leadingJson) {
        List<String> openers() {
            List<String> out = new ArrayList<>();
            regions.forEach(r -> out.add(r.open()));
            return out;
        }
    }
}
