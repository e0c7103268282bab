package io.github.locallm.format;

import io.github.locallm.ToolCall;
import java.util.List;
import java.util.Objects;

/**
 * Generated text taken apart by a {@link ChatFormat}: the answer, the reasoning and the tool calls.
 *
 * @param text the answer text, without reasoning or tool-call markup, without leading or trailing whitespace
 * @param thinking the reasoning text, or an empty string
 * @param toolCalls the tool calls, in the order the model wrote them; each has an id (generated where the
 *     format has none) and its arguments as compact JSON
 */
public record ParsedOutput(String text, String thinking, List<ToolCall> toolCalls) {
    /**
     * Validates and copies the values.
     *
     * @param text the answer text
     * @param thinking the reasoning text, or an empty string
     * @param toolCalls the tool calls
     */
    public ParsedOutput {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(thinking, "thinking");
        toolCalls = List.copyOf(toolCalls);
    }
}
