package io.github.locallm.format;

import io.github.locallm.FinishReason;
import io.github.locallm.ToolSpec;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.TokenSink;
import java.util.List;
import java.util.Objects;

/**
 * A {@link TokenSink} for in-process backends that takes the generated text apart in a {@link ChatFormat}'s
 * way before it reaches the caller: answer text to {@link TokenSink#token}, reasoning to
 * {@link TokenSink#thinking}, tool-call markup held back and turned into tool calls.
 *
 * <pre>{@code
 * FormattedSink formatted = new FormattedSink(format, promptText, sink);
 * BackendResult raw = loop.run(engine, formatted, cancel);
 * return formatted.finish(raw);
 * }</pre>
 *
 * <p>Not thread-safe: one instance follows one generation on the backend's thread.
 */
public final class FormattedSink implements TokenSink {
    private final OutputParser parser;
    private final TokenSink downstream;

    /**
     * @param format the model's chat format
     * @param prompt the rendered prompt the generation continues
     * @param downstream the caller's sink
     */
    public FormattedSink(ChatFormat format, String prompt, TokenSink downstream) {
        this(format, prompt, downstream, true);
    }

    /**
     * @param format the model's chat format
     * @param prompt the rendered prompt the generation continues
     * @param downstream the caller's sink
     * @param toolsOffered whether the request offered tools (without tools no tool call is read)
     */
    public FormattedSink(ChatFormat format, String prompt, TokenSink downstream, boolean toolsOffered) {
        this.downstream = Objects.requireNonNull(downstream, "downstream");
        this.parser = Objects.requireNonNull(format, "format").newParser(prompt, listener(downstream), toolsOffered);
    }

    /**
     * A sink for a request that offered these tools: only calls to them become tool calls; a call to any other
     * name reaches the caller as answer text (see {@link ChatFormat#newParser(String, OutputParser.Listener,
     * java.util.Collection)}). In-process backends use this form.
     *
     * @param format the model's chat format
     * @param prompt the rendered prompt the generation continues
     * @param downstream the caller's sink
     * @param tools the tools the request offered, possibly none
     */
    public FormattedSink(ChatFormat format, String prompt, TokenSink downstream, List<ToolSpec> tools) {
        this.downstream = Objects.requireNonNull(downstream, "downstream");
        this.parser = Objects.requireNonNull(format, "format").newParser(prompt, listener(downstream),
                Objects.requireNonNull(tools, "tools").stream().map(ToolSpec::name).toList());
    }

    private static OutputParser.Listener listener(TokenSink downstream) {
        return new OutputParser.Listener() {
            @Override
            public void onText(String text) {
                downstream.token(text);
            }

            @Override
            public void onThinking(String thinking) {
                downstream.thinking(thinking);
            }
        };
    }

    @Override
    public void token(String text) {
        parser.accept(text);
    }

    @Override
    public void thinking(String text) {
        downstream.thinking(text);
    }

    /**
     * Ends the output: releases held-back text and adds the tool calls to the backend's result, with
     * {@link FinishReason#TOOL_CALLS} when there are calls and the generation was not cancelled.
     *
     * @param raw what the decode loop returned
     * @return the result with the tool calls
     */
    public BackendResult finish(BackendResult raw) {
        ParsedOutput out = parser.finish();
        if (out.toolCalls().isEmpty()) {
            return raw;
        }
        FinishReason reason = raw.finishReason() == FinishReason.CANCELLED ? FinishReason.CANCELLED
                : FinishReason.TOOL_CALLS;
        return new BackendResult(reason, raw.promptTokens(), raw.completionTokens(), out.toolCalls(),
                raw.backendTimings().orElse(null), raw.rawFinishReason());
    }
}
