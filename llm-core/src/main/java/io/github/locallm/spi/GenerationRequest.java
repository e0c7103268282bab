package io.github.locallm.spi;

import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import java.util.List;
import java.util.Objects;

/**
 * One generation asked of a backend: either a raw prompt or a conversation, and options.
 *
 * @param prompt the raw prompt for a completion, or {@code null} for a chat
 * @param messages the conversation for a chat, or {@code null} for a completion
 * @param options validated options
 */
public record GenerationRequest(String prompt, List<ChatMessage> messages, GenerationOptions options) {

    /**
     * Validates and copies the values.
     *
     * @param prompt the raw prompt for a completion, or {@code null} for a chat
     * @param messages the conversation for a chat, or {@code null} for a completion
     * @param options validated options
     */
    public GenerationRequest {
        if ((prompt == null) == (messages == null)) {
            throw new IllegalArgumentException("exactly one of prompt and messages must be given");
        }
        if (messages != null) {
            messages = List.copyOf(messages);
        }
        Objects.requireNonNull(options, "options");
    }

    /**
     * @param prompt the prompt
     * @param options options
     * @return a completion request
     */
    public static GenerationRequest completion(String prompt, GenerationOptions options) {
        return new GenerationRequest(Objects.requireNonNull(prompt, "prompt"), null, options);
    }

    /**
     * @param messages the conversation
     * @param options options
     * @return a chat request
     */
    public static GenerationRequest chat(List<ChatMessage> messages, GenerationOptions options) {
        return new GenerationRequest(null, Objects.requireNonNull(messages, "messages"), options);
    }

    /** @return true for a chat request */
    public boolean isChat() {
        return messages != null;
    }
}
