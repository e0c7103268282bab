package io.github.locallm.langchain4j;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.model.TokenCountEstimator;
import io.github.locallm.Capability;
import io.github.locallm.ChatSession;
import io.github.locallm.LocalLlm;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A LangChain4j {@link TokenCountEstimator} that counts with the model's own tokenizer and chat template, for
 * LangChain4j's token-window chat memory.
 *
 * <pre>{@code
 * ChatMemory memory = TokenWindowChatMemory.withMaxTokens(1500, LocalLlmTokenCountEstimator.of(llm));
 * }</pre>
 *
 * <p>Counts are exact where the backend tokenizes (llama.cpp, DJL, llama-server); elsewhere they are the SDK's
 * documented conservative estimate (one token per UTF-8 byte plus a per-message overhead), the same numbers
 * {@link ChatSession} trims by. Thread-safe.
 */
public final class LocalLlmTokenCountEstimator implements TokenCountEstimator {

    private final LocalLlm llm;

    private LocalLlmTokenCountEstimator(LocalLlm llm) {
        this.llm = Objects.requireNonNull(llm, "llm");
    }

    /**
     * @param llm the open model whose tokenizer counts
     * @return the estimator
     */
    public static LocalLlmTokenCountEstimator of(LocalLlm llm) {
        return new LocalLlmTokenCountEstimator(llm);
    }

    @Override
    public int estimateTokenCountInText(String text) {
        if (!llm.info().supports(Capability.TOKENIZE)) {
            return text.getBytes(StandardCharsets.UTF_8).length;
        }
        try {
            return llm.countTokens(text);
        } catch (RuntimeException e) {
            throw Mapping.error(e);
        }
    }

    @Override
    public int estimateTokenCountInMessage(ChatMessage message) {
        return estimateTokenCountInMessages(List.of(message));
    }

    @Override
    public int estimateTokenCountInMessages(Iterable<ChatMessage> messages) {
        List<ChatMessage> list = new ArrayList<>();
        messages.forEach(list::add);
        try (ChatSession session = llm.newChatSession()) {
            return session.countTokens(Mapping.messages(list));
        } catch (RuntimeException e) {
            throw Mapping.error(e);
        }
    }
}
