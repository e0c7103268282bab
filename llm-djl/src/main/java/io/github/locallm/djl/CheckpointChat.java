package io.github.locallm.djl;

import io.github.locallm.Capability;
import io.github.locallm.LlmException;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.format.ChatFormat;
import io.github.locallm.spi.PromptEncoder;
import io.github.locallm.template.ChatTemplate;
import io.github.locallm.template.RenderOptions;

/**
 * The chat side of a checkpoint: its chat template, the chat format read from it, and the prompt encoder that
 * renders a conversation through them and tokenizes it with message text escaped (it never yields a control
 * token).
 *
 * <p>A checkpoint without a usable template has no format, and its encoder refuses conversations with an
 * {@link UnsupportedCapabilityException} that says why ({@link #status()}). Immutable and thread-safe (the
 * tokenizer it encodes with is).
 */
final class CheckpointChat {
    private final ChatTemplate template;
    private final ChatFormat format;
    private final String status;
    private final PromptEncoder encoder;

    /**
     * @param ckpt the checked checkpoint
     * @param tokenizer its tokenizer
     * @param chatFormat the name of the chat format to use, or {@code null} to detect it from the template
     */
    CheckpointChat(Checkpoint ckpt, CheckpointTokenizer tokenizer, String chatFormat) {
        ChatTemplate t = null;
        RuntimeException error = null;
        if (ckpt.chatTemplate() != null) {
            try {
                t = ChatTemplate.parse(ckpt.chatTemplate());
            } catch (RuntimeException e) {
                error = e;
            }
        }
        this.template = t;
        this.format = t == null ? null : chatFormat != null ? ChatFormat.named(chatFormat) : ChatFormat.detect(t.source());
        this.status = t != null ? "from the checkpoint" : error != null ? "cannot be used: " + error.getMessage()
                : "none: tokenizer_config.json has no chat_template";
        this.encoder = encoder(ckpt, tokenizer);
    }

    private PromptEncoder encoder(Checkpoint ckpt, CheckpointTokenizer tokenizer) {
        RenderOptions.Builder options = RenderOptions.builder();
        String bosToken = ckpt.specialToken("bos_token");
        String eosToken = ckpt.specialToken("eos_token");
        if (bosToken != null) {
            options.bosToken(bosToken);
        }
        if (eosToken != null) {
            options.eosToken(eosToken);
        }
        PromptEncoder.Renderer render = (messages, o) -> {
            if (template == null) {
                // only direct SPI calls get here: core refuses chat to a model without the CHAT capability
                throw new UnsupportedCapabilityException("djl model " + ckpt.model() + " cannot chat: " + status,
                        Capability.CHAT);
            }
            try {
                return format.render(template, messages, o.tools(), o, null);
            } catch (RuntimeException e) {
                throw new LlmException("the chat template of djl model " + ckpt.model() + " cannot render this "
                        + "conversation: " + e.getMessage(), e);
            }
        };
        // The template writes the special tokens itself (BOS included), so the tokenizer adds none.
        return PromptEncoder.builder(render, text -> tokenizer.encode(text, false))
                .controlTokens(tokenizer.specialTokens())
                .renderOptions(options.build())
                .build();
    }

    /** @return the parsed template, or {@code null} when the checkpoint has none that can be used */
    ChatTemplate template() {
        return template;
    }

    /** @return the chat format, or {@code null} without a template */
    ChatFormat format() {
        return format;
    }

    /** @return where the template came from, or why there is none, as {@code ModelInfo} details say it */
    String status() {
        return status;
    }

    /** @return the encoder of conversations (through the template) and of plain text */
    PromptEncoder encoder() {
        return encoder;
    }
}
