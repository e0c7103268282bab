package io.github.locallm.llamacpp;

import io.github.locallm.ChatMessage;

import java.util.List;

/**
 * Renders a conversation with a model's chat template. Message contents arrive as opaque placeholders, so
 * that the caller can tokenize template text (with special tokens) apart from user text (without).
 */
interface ChatRenderer {

    /**
     * Renders the conversation.
     *
     * @param messages            the messages, contents replaced by placeholders
     * @param addGenerationPrompt whether to open the assistant's turn
     * @return the rendered prompt text
     */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);

    /** Returns a short description of the template used, for {@code ModelInfo.details()}. */
    String description();

    /** ChatML, rendered in Java: {@code <|im_start|>role\ncontent<|im_end|>\n}. */
    final class ChatMl implements ChatRenderer {
        @Override
        public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
            StringBuilder sb = new StringBuilder();
            for (ChatMessage m : messages) {
                sb.append("<|im_start|>").append(m.role().wireName()).append('\n').append(m.content())
                        .append("<|im_end|>\n");
            }
            if (addGenerationPrompt) {
                sb.append("<|im_start|>assistant\n");
            }
            return sb.toString();
        }

        @Override
        public String description() {
            return "chatml";
        }
    }

    /**
     * Picks the renderer for a template text.
     *
     * @return the renderer, or {@code null} if no renderer in this build can render the template
     */
    static ChatRenderer forTemplate(String template, List<String> vocabulary) {
        if (template == null) {
            return vocabulary.contains("<|im_start|>") && vocabulary.contains("<|im_end|>") ? new ChatMl() : null;
        }
        if (template.strip().equalsIgnoreCase("chatml")
                || (template.contains("<|im_start|>") && template.contains("<|im_end|>"))) {
            return new ChatMl();
        }
        return null;
    }
}
