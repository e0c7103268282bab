package io.github.locallm;

import java.util.List;
import java.util.Objects;

/**
 * The result of one generation.
 *
 * @param text the produced text, without any matched stop sequence and without thinking text
 * @param thinking reasoning text the model produced apart from the answer, or an empty string
 * @param finishReason why generation ended
 * @param usage token counts
 * @param timings how long it took
 * @param toolCalls tool calls the model asked for; empty when none
 */
public record Completion(String text, String thinking, FinishReason finishReason, Usage usage, Timings timings,
                         List<ToolCall> toolCalls) {
    /**
     * Validates and copies the values.
     *
     * @param text the produced text, without any matched stop sequence and without thinking text
     * @param thinking reasoning text the model produced apart from the answer, or an empty string
     * @param finishReason why generation ended
     * @param usage token counts
     * @param timings how long it took
     * @param toolCalls tool calls the model asked for; empty when none
     */
    public Completion {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(thinking, "thinking");
        Objects.requireNonNull(finishReason, "finishReason");
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(timings, "timings");
        toolCalls = List.copyOf(toolCalls);
    }
}
