package io.github.locallm.springai.autoconfigure;

import io.github.locallm.LocalLlm;
import io.github.locallm.springai.LocalLlmChatModel;
import io.github.locallm.springai.LocalLlmEmbeddingModel;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * Spring Boot auto-configuration: a {@link ChatModel} when {@code locallm.chat.model} is set, an
 * {@link EmbeddingModel} when {@code locallm.embedding.model} is set (see {@link LocalLlmProperties}). Each opens
 * its {@link LocalLlm} at start-up, so a wrong spec fails the context with the SDK's message, and closes it with
 * the context. Beans of the same types that the application defines win.
 */
@AutoConfiguration
@EnableConfigurationProperties(LocalLlmProperties.class)
public class LocalLlmAutoConfiguration {

    /**
     * @param properties the {@code locallm.*} settings
     * @return the chat model, owning its {@code LocalLlm}
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(ChatModel.class)
    @ConditionalOnProperty(prefix = "locallm.chat", name = "model")
    public LocalLlmChatModel localLlmChatModel(LocalLlmProperties properties) {
        LocalLlmProperties.Model chat = properties.getChat();
        LocalLlm llm = LocalLlm.open(chat.getModel(), chat.openOptions());
        try {
            return LocalLlmChatModel.builder(llm).defaultOptions(chat.getOptions().toGenerationOptions())
                    .requireToolCall(chat.getOptions().isRequireToolCall()).owned(true).build();
        } catch (RuntimeException e) {
            llm.close();
            throw e;
        }
    }

    /**
     * @param properties the {@code locallm.*} settings
     * @return the embedding model, owning its {@code LocalLlm}
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(EmbeddingModel.class)
    @ConditionalOnProperty(prefix = "locallm.embedding", name = "model")
    public LocalLlmEmbeddingModel localLlmEmbeddingModel(LocalLlmProperties properties) {
        LocalLlmProperties.Model embedding = properties.getEmbedding();
        LocalLlm llm = LocalLlm.open(embedding.getModel(), embedding.openOptions());
        try {
            return LocalLlmEmbeddingModel.owning(llm);
        } catch (RuntimeException e) {
            llm.close();
            throw e;
        }
    }
}
