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
import java.util.Objects;
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
 * <p>Request parameters are laid over the default {@link GenerationOptions} given to the builder; parameters
 * this SDK has no meaning for ({@code frequencyPenalty}, {@code presencePenalty}, a model name other than the
 * open one, {@code ToolChoice.REQUIRED} on a server backend) raise {@code UnsupportedFeatureException}, and a capability the model
 * lacks (tools, JSON schema, images) raises {@code UnsupportedFeatureException} before any work, with the
 * SDK's {@code UnsupportedCapabilityException} as its cause. The model does not own the {@code LocalLlm}: close
 * that yourself. Thread-safe when the {@code LocalLlm} is (it always is).
 */
public final class LocalLlmChatModel implements ChatModel {

    private final LocalLlm llm;
    private final String modelName;
    private final String backend;
    private final GenerationOptions defaults;
    private final List<ChatModelListener> listeners;

    private LocalLlmChatModel(Builder b) {
        this.llm = Objects.requireNonNull(b.llm, "llm");
        this.defaults = b.defaults;
        this.modelName = llm.info().model();
        this.backend = llm.info().backend();
        this.listeners = List.copyOf(b.listeners);
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
            GenerationOptions options = Mapping.options(modelName, backend, defaults, request);
            Completion c = llm.chat(Mapping.messages(request.messages()), options);
            return Mapping.response(modelName, c);
        } catch (RuntimeException e) {
            throw Mapping.error(e);
        }
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return Mapping.parameters(modelName, defaults);
    }

    @Override
    public List<ChatModelListener> listeners() {
        return listeners;
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    @Override
    public Set<dev.langchain4j.model.chat.Capability> supportedCapabilities() {
        return llm.isClosed() ? Set.of() : Mapping.capabilities(llm.info());
    }

    /** @return the model this adapter talks to */
    public LocalLlm localLlm() {
        return llm;
    }

    @Override
    public String toString() {
        return "LocalLlmChatModel[" + backend + ":" + modelName + "]";
    }

    /** Builds a {@link LocalLlmChatModel}; not thread-safe. */
    public static final class Builder {
        private final LocalLlm llm;
        private GenerationOptions defaults = GenerationOptions.defaults();
        private List<ChatModelListener> listeners = List.of();

        private Builder(LocalLlm llm) {
            this.llm = Objects.requireNonNull(llm, "llm");
        }

        /**
         * @param defaults options every request starts from (seed, repeat penalty, backend options included)
         * @return this builder
         */
        public Builder defaultOptions(GenerationOptions defaults) {
            this.defaults = Objects.requireNonNull(defaults, "defaults");
            return this;
        }

        /**
         * @param listeners LangChain4j listeners told of each request, response and error
         * @return this builder
         */
        public Builder listeners(List<ChatModelListener> listeners) {
            this.listeners = List.copyOf(listeners);
            return this;
        }

        /** @return the chat model */
        public LocalLlmChatModel build() {
            return new LocalLlmChatModel(this);
        }
    }
}
