package io.github.locallm;

import java.util.List;

/**
 * A conversation with a model that keeps its history. Not thread-safe: use one session per
 * conversation and thread.
 *
 * <p>The history is trimmed by token budget before each turn: the system prompt always stays, and
 * the oldest turns are dropped so that the prompt plus room for the reply fit the context.
 */
public final class ChatSession implements AutoCloseable {
    // Skeleton: the implementation lands with the core work (issue 2).

    private ChatSession() {
    }

    /** @param userText the user's message @return the reply, already added to the history */
    public Completion send(String userText) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** @param userText the user's message @param handler receiver @return cancel handle */
    public GenerationHandle stream(String userText, StreamHandler handler) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** @return the history, system prompt first */
    public List<ChatMessage> history() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Forgets every turn; the system prompt stays. */
    public void reset() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Ends the session. Idempotent. */
    @Override
    public void close() {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
