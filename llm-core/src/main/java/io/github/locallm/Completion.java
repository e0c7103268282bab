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
 * @param logprobs the log probabilities of the answer's tokens, in order, when they were asked for
 *                 ({@link GenerationOptions.Builder#logprobs(boolean)}) and the backend reports them; else empty
 * @param rawFinishReason the backend's own word for why it ended (such as a server's {@code done_reason}),
 *                        kept as sent, so that a reason {@link FinishReason} has no constant for is not
 *                        lost; an empty string when the backend gave none
 */
public record Completion(String text, String thinking, FinishReason finishReason, Usage usage, Timings timings,
                         List<ToolCall> toolCalls, List<TokenLogprob> logprobs, String rawFinishReason) {
    /**
     * Validates and copies the values.
     *
     * @param text the produced text, without any matched stop sequence and without thinking text
     * @param thinking reasoning text the model produced apart from the answer, or an empty string
     * @param finishReason why generation ended
     * @param usage token counts
     * @param timings how long it took
     * @param toolCalls tool calls the model asked for; empty when none
     * @param logprobs the log probabilities of the answer's tokens, or empty
     * @param rawFinishReason the backend's own word for why it ended, or an empty string
     */
    public Completion {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(thinking, "thinking");
        Objects.requireNonNull(finishReason, "finishReason");
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(timings, "timings");
        toolCalls = List.copyOf(toolCalls);
        logprobs = List.copyOf(logprobs);
        Objects.requireNonNull(rawFinishReason, "rawFinishReason");
    }

    /**
     * A completion without log probabilities and without a raw finish reason.
     *
     * @param text the produced text, without any matched stop sequence and without thinking text
     * @param thinking reasoning text the model produced apart from the answer, or an empty string
     * @param finishReason why generation ended
     * @param usage token counts
     * @param timings how long it took
     * @param toolCalls tool calls the model asked for; empty when none
     */
    public Completion(String text, String thinking, FinishReason finishReason, Usage usage, Timings timings,
                      List<ToolCall> toolCalls) {
        this(text, thinking, finishReason, usage, timings, toolCalls, List.of(), "");
    }
}
