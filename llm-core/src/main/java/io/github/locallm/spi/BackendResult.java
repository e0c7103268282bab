package io.github.locallm.spi;

import io.github.locallm.FinishReason;
import io.github.locallm.Timings;
import io.github.locallm.ToolCall;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How a backend's generation ended.
 *
 * @param finishReason why it ended
 * @param promptTokens tokens read
 * @param completionTokens tokens produced
 * @param toolCalls tool calls the model asked for
 * @param timings timings the backend measured itself (a server's), or {@code null} to let core measure
 * @param rawFinishReason the backend's own word for why it ended (a server's finish reason as sent), or an
 *                        empty string; reaches {@link io.github.locallm.Completion#rawFinishReason()}
 */
public record BackendResult(FinishReason finishReason, int promptTokens, int completionTokens,
                            List<ToolCall> toolCalls, Timings timings, String rawFinishReason) {

    /**
     * Validates and copies the values.
     *
     * @param finishReason why it ended
     * @param promptTokens tokens read
     * @param completionTokens tokens produced
     * @param toolCalls tool calls the model asked for
     * @param timings timings the backend measured itself (a server's), or {@code null} to let core measure
     * @param rawFinishReason the backend's own word for why it ended, or an empty string
     */
    public BackendResult {
        Objects.requireNonNull(finishReason, "finishReason");
        toolCalls = List.copyOf(toolCalls);
        Objects.requireNonNull(rawFinishReason, "rawFinishReason");
    }

    /**
     * A result without a raw finish reason.
     *
     * @param finishReason why it ended
     * @param promptTokens tokens read
     * @param completionTokens tokens produced
     * @param toolCalls tool calls the model asked for
     * @param timings timings the backend measured itself (a server's), or {@code null} to let core measure
     */
    public BackendResult(FinishReason finishReason, int promptTokens, int completionTokens,
                         List<ToolCall> toolCalls, Timings timings) {
        this(finishReason, promptTokens, completionTokens, toolCalls, timings, "");
    }

    /**
     * @param finishReason why it ended
     * @param promptTokens tokens read
     * @param completionTokens tokens produced
     * @return a result without tool calls, timed by core
     */
    public static BackendResult of(FinishReason finishReason, int promptTokens, int completionTokens) {
        return new BackendResult(finishReason, promptTokens, completionTokens, List.of(), null);
    }

    /** @return the backend's own timings, if it measured them */
    public Optional<Timings> backendTimings() {
        return Optional.ofNullable(timings);
    }
}
