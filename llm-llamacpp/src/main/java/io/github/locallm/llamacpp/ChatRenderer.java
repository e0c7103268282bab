package io.github.locallm.llamacpp;

import io.github.locallm.format.ChatFormat;
import io.github.locallm.ChatMessage;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;
import io.github.locallm.template.TemplateException;

import java.util.List;

/**
 * Renders a conversation with a model's chat template, in Java (the binding's native renderer accepts only
 * user/assistant turns and aborts the JVM when a template raises an error).
 */
interface ChatRenderer {

    /**
     * Renders the conversation.
     *
     * @param messages            the messages
     * @param addGenerationPrompt whether to open the assistant's turn
     * @return the rendered prompt text
     * @throws TemplateException when the template rejects the conversation
     */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);

    /**
     * Renders the conversation with render options (tools, template variables), in the model's chat format.
     *
     * @param messages the messages
     * @param options generation prompt, tools and variables
     * @return the rendered prompt text
     * @throws TemplateException when the template rejects the conversation
     */
    default String render(List<ChatMessage> messages, RenderOptions options) {
        return render(messages, options.addGenerationPrompt());
    }

    /** @return the chat format tools and reasoning are written in, or {@code null} when the renderer has none */
    default ChatFormat format() {
        return null;
    }

    /** @return the template text, or an empty string for a built-in renderer */
    default String source() {
        return "";
    }

    /** Returns a short description of the template used, for {@code ModelInfo.details()}. */
    String description();

    /** ChatML: {@code <|im_start|>role\ncontent<|im_end|>\n}. */
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
            return "chatml (built in)";
        }
    }

    /** A Jinja chat template from the GGUF metadata or the {@code template} setting. */
    final class Jinja implements ChatRenderer {
        private final ChatTemplate template;
        private final String bos;
        private final String eos;
        private final String origin;
        private final ChatFormat format;

        Jinja(ChatTemplate template, String bos, String eos, String origin) {
            this(template, bos, eos, origin, null);
        }

        Jinja(ChatTemplate template, String bos, String eos, String origin, String chatFormat) {
            this.template = template;
            this.bos = bos;
            this.eos = eos;
            this.origin = origin;
            this.format = chatFormat != null ? ChatFormat.named(chatFormat) : ChatFormat.detect(template.source());
        }

        @Override
        public String render(List<ChatMessage> messages, RenderOptions options) {
            RenderOptions.Builder o = options.toBuilder();
            if (bos != null && options.bosToken().isEmpty()) {
                o.bosToken(bos);
            }
            if (eos != null && options.eosToken().isEmpty()) {
                o.eosToken(eos);
            }
            return format.render(template, messages, options.tools(), o.build(), null);
        }

        @Override
        public ChatFormat format() {
            return format;
        }

        @Override
        public String source() {
            return template.source();
        }

        @Override
        public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
            RenderOptions.Builder o = RenderOptions.builder().addGenerationPrompt(addGenerationPrompt);
            if (bos != null) {
                o.bosToken(bos);
            }
            if (eos != null) {
                o.eosToken(eos);
            }
            return template.render(messages, o.build());
        }

        @Override
        public String description() {
            return "jinja (" + origin + ")";
        }
    }
}
