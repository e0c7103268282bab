package io.github.locallm.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import java.util.List;
import java.util.Set;

/**
 * A LangChain4j {@link ChatModel} backed by a {@link LocalLlm}: a GGUF through llama.cpp, a checkpoint through
 * DJL, an Ollama or OpenAI-compatible server, whatever the spec opened.
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("llamacpp:/models/qwen2.5-0.5b-instruct-q8_0.gguf")) {
 *     ChatModel model = LocalLlmChatModel.of(llm);
 *     String answer = model.chat("Explique-moi Python en une phrase");
 * }
 * }</pre>
 *
 * <p>Request parameters are laid over the builder's default request parameters and default
 * {@link GenerationOptions}; parameters this SDK has no meaning for ({@code frequencyPenalty},
 * {@code presencePenalty}, a model name other than the open one) raise {@code UnsupportedFeatureException}, and a
 * capability the model lacks (tools, a forced tool call, JSON schema, images) raises
 * {@code UnsupportedFeatureException} before any work, with the SDK's {@code UnsupportedCapabilityException} as
 * its cause. The model does not own the {@code LocalLlm}: close
 * that yourself. Thread-safe when the {@code LocalLlm} is (it always is).
 */
public final class LocalLlmChatModel implements ChatModel {

    private final AdapterBuilder.Settings settings;
    private final LocalLlm llm;
    private final String modelName;

    private LocalLlmChatModel(Builder b) {
        this.settings = new AdapterBuilder.Settings(b);
        this.llm = settings.llm();
        this.modelName = settings.modelName();
    }

    /**
     * @param llm the open model
     * @return a chat model with the SDK's defaults
     */
    public static LocalLlmChatModel of(LocalLlm llm) {
        return builder(llm).build();
    }

    /**
     * @param llm the open model
     * @return a builder for default options and listeners
     */
    public static Builder builder(LocalLlm llm) {
        return new Builder(llm);
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        try {
            GenerationOptions options = settings.options(request);
            Completion c = llm.chat(Mapping.messages(request.messages()), options);
            return Mapping.response(modelName, c);
        } catch (RuntimeException e) {
            throw Mapping.error(e);
        }
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return settings.parameters();
    }

    @Override
    public List<ChatModelListener> listeners() {
        return settings.listeners();
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    @Override
    public Set<dev.langchain4j.model.chat.Capability> supportedCapabilities() {
        return settings.capabilities();
    }

    /** @return the model this adapter talks to */
    public LocalLlm localLlm() {
        return llm;
    }

    @Override
    public String toString() {
        return settings.describe("LocalLlmChatModel");
    }

    /** Builds a {@link LocalLlmChatModel}; not thread-safe. */
    public static final class Builder extends AdapterBuilder<Builder> {
        private Builder(LocalLlm llm) {
            super(llm);
        }

        /** @return the chat model */
        public LocalLlmChatModel build() {
            return new LocalLlmChatModel(this);
        }
    }
}
