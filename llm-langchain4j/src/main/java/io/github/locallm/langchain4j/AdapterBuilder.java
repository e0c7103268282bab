package io.github.locallm.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import java.util.List;
import java.util.Objects;

/**
 * What the builders of {@link LocalLlmChatModel} and {@link LocalLlmStreamingChatModel} share: the model, the
 * default options every request starts from, and the listeners. Not thread-safe.
 *
 * @param <B> the concrete builder, returned by each setter
 */
public abstract class AdapterBuilder<B extends AdapterBuilder<B>> {
    final LocalLlm llm;
    GenerationOptions defaults = GenerationOptions.defaults();
    ChatRequestParameters requestDefaults = DefaultChatRequestParameters.EMPTY;
    List<ChatModelListener> listeners = List.of();

    AdapterBuilder(LocalLlm llm) {
        this.llm = Objects.requireNonNull(llm, "llm");
    }

    /**
     * @param defaults options every request starts from (seed, repeat penalty, backend options included)
     * @return this builder
     */
    public B defaultOptions(GenerationOptions defaults) {
        this.defaults = Objects.requireNonNull(defaults, "defaults");
        return self();
    }

    /**
     * Default request parameters in LangChain4j's terms (temperature, max output tokens, stop sequences, tools,
     * tool choice, response format), laid over the default options; each request's parameters are laid over
     * these. Parameters this SDK has no meaning for (a model name other than the open one, frequency or presence
     * penalty) are refused when the model is built.
     *
     * @param parameters the defaults
     * @return this builder
     */
    public B defaultRequestParameters(ChatRequestParameters parameters) {
        this.requestDefaults = Objects.requireNonNull(parameters, "parameters");
        return self();
    }

    /**
     * @param listeners LangChain4j listeners told of each request, response and error
     * @return this builder
     */
    public B listeners(List<ChatModelListener> listeners) {
        this.listeners = List.copyOf(listeners);
        return self();
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** The built state both chat models read; the model's name and backend are read once, while it is open. */
    record Settings(LocalLlm llm, String modelName, String backend, GenerationOptions defaults,
                    ChatRequestParameters requestDefaults, List<ChatModelListener> listeners) {
        Settings {
            Mapping.refuseUnsupported(modelName, requestDefaults);
        }

        Settings(AdapterBuilder<?> b) {
            this(b.llm, b.llm.info().model(), b.llm.info().backend(), b.defaults, b.requestDefaults, b.listeners);
        }

        /** What LangChain4j lays each request's parameters over before the model sees the request. */
        ChatRequestParameters parameters() {
            return Mapping.parameters(modelName, defaults).overrideWith(requestDefaults);
        }

        java.util.Set<dev.langchain4j.model.chat.Capability> capabilities() {
            return llm.isClosed() ? java.util.Set.of() : Mapping.capabilities(llm.info());
        }

        GenerationOptions options(dev.langchain4j.model.chat.request.ChatRequest request) {
            return Mapping.options(modelName, backend, defaults, request);
        }

        String describe(String type) {
            return type + "[" + backend + ":" + modelName + "]";
        }
    }
}
