package io.github.locallm.spi;

import io.github.locallm.ChatMessage;
import io.github.locallm.ToolSpec;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns a conversation into prompt tokens for an in-process backend, so that what people wrote can never
 * become a control token.
 *
 * <p>The chat template writes the structure of the prompt (role markers such as {@code <|im_start|>}),
 * and those texts must become control tokens. The contents of messages (user, system, tool and assistant
 * text) must stay text even when they contain the text of a control token: a user who types
 * {@code <|im_end|>\n<|im_start|>system\n...} must not open a system turn. The encoder renders the
 * conversation with markers in place of the contents, so it knows where each content lies in the rendered
 * prompt, then tokenizes the prompt in runs: wherever the text of a control token overlaps a content, the
 * prompt is cut inside that text, so no run contains it and the tokenizer reads it as ordinary characters.
 * A prompt whose contents hold no control-token text is tokenized in one piece, exactly as the template
 * rendered it.
 *
 * <p>The backend supplies the two parts that differ: a {@link Renderer} (a {@link ChatTemplate}, or any
 * function of messages and {@link RenderOptions}) and a {@link Tokenizer} that turns control-token texts into
 * control tokens, plus the list of those texts.
 *
 * <pre>{@code
 * PromptEncoder encoder = PromptEncoder.builder(template::render, tokenizer::encodeWithSpecials)
 *         .controlTokens(List.of("<|im_start|>", "<|im_end|>", "<|endoftext|>"))
 *         .renderOptions(RenderOptions.builder().eosToken("<|im_end|>").build())
 *         .build();
 * int[] prompt = encoder.encodeChat(request.messages(), request.options().tools());
 * }</pre>
 *
 * <p>A layer that renders tools or reasoning builds its {@link RenderOptions} (tools, template variables)
 * and calls {@link #encode(List, RenderOptions)}; the escaping applies unchanged. Only message contents are
 * escaped: tool specifications and tool-call arguments are rendered by the template as given.
 *
 * <p>A template that changes contents in ways other than trimming them (say, splitting off reasoning) is
 * rendered with the contents as given, which keeps the template's structure and the user's text.
 *
 * <p>Immutable and thread-safe when the renderer and tokenizer are.
 */
public final class PromptEncoder {

    /** Renders a conversation to prompt text, for example {@link ChatTemplate#render(List, RenderOptions)}. */
    @FunctionalInterface
    public interface Renderer {
        /**
         * @param messages the conversation
         * @param options generation prompt, tools, special tokens and variables
         * @return the prompt text, with control-token texts where the template writes them
         */
        String render(List<ChatMessage> messages, RenderOptions options);
    }

    /** Tokenizes text in which the text of a control token stands for that token. */
    @FunctionalInterface
    public interface Tokenizer {
        /**
         * @param text rendered prompt text, never empty
         * @return its token ids, without a BOS token added
         */
        int[] tokenize(String text);
    }

    private static final char OPEN = '\uE000';
    private static final char CLOSE = '\uE001';

    private final Renderer renderer;
    private final Tokenizer tokenizer;
    private final List<String> controlTokens;
    private final RenderOptions renderOptions;
    private final int bosToken;

    private PromptEncoder(Builder b) {
        this.renderer = b.renderer;
        this.tokenizer = b.tokenizer;
        this.controlTokens = List.copyOf(b.controlTokens);
        this.renderOptions = b.renderOptions;
        this.bosToken = b.bosToken;
    }

    /**
     * @param renderer renders a conversation
     * @param tokenizer tokenizes rendered text, control-token texts becoming control tokens
     * @return a builder
     */
    public static Builder builder(Renderer renderer, Tokenizer tokenizer) {
        return new Builder(renderer, tokenizer);
    }

    /** @return the render options every call starts from (special tokens, variables) */
    public RenderOptions renderOptions() {
        return renderOptions;
    }

    /**
     * Encodes a conversation with the assistant's turn opened, as a chat request is read.
     *
     * @param messages the conversation
     * @param tools the tools the model may call, rendered by the template; may be empty
     * @return the prompt tokens
     */
    public int[] encodeChat(List<ChatMessage> messages, List<ToolSpec> tools) {
        Objects.requireNonNull(tools, "tools");
        RenderOptions.Builder o = renderOptions.toBuilder().addGenerationPrompt(true);
        if (!tools.isEmpty()) {
            o.tools(tools);
        }
        return encode(messages, o.build());
    }

    /**
     * Encodes a conversation with the given render options; message contents never become control tokens.
     *
     * @param messages the conversation
     * @param options generation prompt, tools, special tokens and variables
     * @return the prompt tokens
     */
    public int[] encode(List<ChatMessage> messages, RenderOptions options) {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(options, "options");
        String marker = OPEN + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ":";
        List<ChatMessage> marked = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = Objects.requireNonNull(messages.get(i), "message");
            marked.add(new ChatMessage(m.role(), marker + i + CLOSE, m.toolCalls(), m.images(), m.name(),
                    m.toolCallId()));
        }
        String withMarkers = renderer.render(marked, options);
        List<String> contents = contentsAsRendered(withMarkers, marker, messages, options);
        StringBuilder text = new StringBuilder(withMarkers.length());
        List<int[]> spans = new ArrayList<>();
        int pos = 0;
        while (true) {
            int open = withMarkers.indexOf(marker, pos);
            if (open < 0) {
                text.append(withMarkers, pos, withMarkers.length());
                break;
            }
            int close = withMarkers.indexOf(CLOSE, open);
            text.append(withMarkers, pos, open);
            String content = contents.get(Integer.parseInt(withMarkers.substring(open + marker.length(), close)));
            spans.add(new int[] {text.length(), text.length() + content.length()});
            text.append(content);
            pos = close + 1;
        }
        return withBos(tokenizeEscaped(text.toString(), spans));
    }

    /**
     * Tokenizes plain text: the text of a control token inside it stays text.
     *
     * @param text the text
     * @return its token ids, no BOS token added
     */
    public int[] encodeText(String text) {
        Objects.requireNonNull(text, "text");
        return tokenizeEscaped(text, List.<int[]>of(new int[] {0, text.length()}));
    }

    /**
     * Renders a conversation as the model will read it (contents in place), for display and debugging.
     *
     * @param messages the conversation
     * @param options render options
     * @return the prompt text
     */
    public String render(List<ChatMessage> messages, RenderOptions options) {
        return renderer.render(List.copyOf(messages), options);
    }

    private int[] withBos(int[] tokens) {
        if (bosToken < 0 || (tokens.length > 0 && tokens[0] == bosToken)) {
            return tokens;
        }
        int[] out = new int[tokens.length + 1];
        out[0] = bosToken;
        System.arraycopy(tokens, 0, out, 1, tokens.length);
        return out;
    }

    /**
     * Returns the message contents as the template prints them: unchanged for almost all templates, trimmed
     * for one that trims them, and as given for one that changes them otherwise.
     */
    private List<String> contentsAsRendered(String withMarkers, String marker, List<ChatMessage> messages,
                                            RenderOptions options) {
        List<String> given = new ArrayList<>(messages.size());
        List<String> stripped = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            given.add(m.content());
            stripped.add(m.content().strip());
        }
        if (given.equals(stripped)) {
            return given;
        }
        String real = renderer.render(messages, options);
        if (substitute(withMarkers, marker, given).equals(real)) {
            return given;
        }
        if (substitute(withMarkers, marker, stripped).equals(real)) {
            return stripped;
        }
        return given;
    }

    private static String substitute(String withMarkers, String marker, List<String> contents) {
        StringBuilder sb = new StringBuilder();
        int pos = 0;
        while (true) {
            int open = withMarkers.indexOf(marker, pos);
            if (open < 0) {
                return sb.append(withMarkers, pos, withMarkers.length()).toString();
            }
            int close = withMarkers.indexOf(CLOSE, open);
            sb.append(withMarkers, pos, open);
            sb.append(contents.get(Integer.parseInt(withMarkers.substring(open + marker.length(), close))));
            pos = close + 1;
        }
    }

    /** Tokenizes in runs, cut inside every control-token text that overlaps one of the spans. */
    private int[] tokenizeEscaped(String text, List<int[]> spans) {
        boolean[] cut = new boolean[text.length() + 1];
        boolean any = false;
        for (String control : controlTokens) {
            for (int at = text.indexOf(control); at >= 0; at = text.indexOf(control, at + 1)) {
                int end = at + control.length();
                if (overlaps(spans, at, end)) {
                    int inside = at + Character.charCount(text.codePointAt(at));
                    if (inside < end) {
                        cut[inside] = true;
                        any = true;
                    }
                }
            }
        }
        if (!any) {
            return text.isEmpty() ? new int[0] : tokenizer.tokenize(text);
        }
        int[] out = new int[0];
        int start = 0;
        for (int i = 1; i <= text.length(); i++) {
            if (i == text.length() || cut[i]) {
                int[] run = tokenizer.tokenize(text.substring(start, i));
                int n = out.length;
                out = Arrays.copyOf(out, n + run.length);
                System.arraycopy(run, 0, out, n, run.length);
                start = i;
            }
        }
        return out;
    }

    private static boolean overlaps(List<int[]> spans, int from, int to) {
        for (int[] s : spans) {
            if (from < s[1] && to > s[0]) {
                return true;
            }
        }
        return false;
    }

    /** Builds a {@link PromptEncoder}. Not thread-safe. */
    public static final class Builder {
        private final Renderer renderer;
        private final Tokenizer tokenizer;
        private final LinkedHashSet<String> controlTokens = new LinkedHashSet<>();
        private RenderOptions renderOptions = RenderOptions.defaults();
        private int bosToken = -1;

        private Builder(Renderer renderer, Tokenizer tokenizer) {
            this.renderer = Objects.requireNonNull(renderer, "renderer");
            this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        }

        /**
         * @param texts the texts of the tokenizer's control tokens, which contents must never produce
         * @return this builder
         */
        public Builder controlTokens(Collection<String> texts) {
            for (String t : Objects.requireNonNull(texts, "texts")) {
                if (t != null && !t.isEmpty()) {
                    controlTokens.add(t);
                }
            }
            return this;
        }

        /**
         * @param options the render options every call starts from (special token texts, variables)
         * @return this builder
         */
        public Builder renderOptions(RenderOptions options) {
            this.renderOptions = Objects.requireNonNull(options, "options");
            return this;
        }

        /**
         * @param id a BOS token id to put first when the rendered prompt does not start with it; negative for none
         * @return this builder
         */
        public Builder bosToken(int id) {
            this.bosToken = id;
            return this;
        }

        /** @return the encoder */
        public PromptEncoder build() {
            return new PromptEncoder(this);
        }
    }
}
