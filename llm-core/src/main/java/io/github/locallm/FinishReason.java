package io.github.locallm;

/** Why a generation ended. */
public enum FinishReason {
    /** The model produced an end-of-generation token or a stop sequence matched. */
    STOP,
    /** The maximum number of tokens was reached. */
    LENGTH,
    /** The caller cancelled the generation; the text is what was produced until then. */
    CANCELLED,
    /** The model asked for one or more tool calls (see {@link Completion#toolCalls()}). */
    TOOL_CALLS
}
