package io.github.locallm.llamacpp;

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

        Jinja(ChatTemplate template, String bos, String eos, String origin) {
            this.template = template;
            this.bos = bos;
            this.eos = eos;
            this.origin = origin;
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
