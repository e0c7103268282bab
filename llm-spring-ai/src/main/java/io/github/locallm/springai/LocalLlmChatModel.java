package io.github.locallm.springai;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationHandle;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.StreamHandler;
import java.util.List;
import java.util.Objects;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.DefaultToolCallingChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/**
 * A Spring AI {@link ChatModel} backed by a {@link LocalLlm}: a GGUF through llama.cpp or a checkpoint through
 * DJL in the application's own process, or an Ollama or OpenAI-compatible server.
 *
 * <pre>{@code
 * LocalLlm llm = LocalLlm.open("llamacpp:/models/qwen2.5-0.5b-instruct-q8_0.gguf");
 * ChatClient chat = ChatClient.create(LocalLlmChatModel.of(llm));
 * String answer = chat.prompt("Explique-moi Python en une phrase").call().content();
 * }</pre>
 *
 * <p>Prompt options ({@link ChatOptions}, {@link ToolCallingChatOptions} with tool callbacks, a structured
 * output schema) are laid over the default {@link GenerationOptions} given to the builder. Tool calls come back
 * in the {@code AssistantMessage} for Spring AI's tool-calling advisor to run; reasoning text is in the
 * message's {@code thinking} property; usage and the answering backend are in the response metadata. A
 * capability the model lacks fails before any work with the SDK's {@code UnsupportedCapabilityException}.
 * Built by {@link #of(LocalLlm)}, the model does not own the {@code LocalLlm}; the Boot auto-configuration
 * builds an owning one that closes it with the context. Thread-safe.
 */
public final class LocalLlmChatModel implements ChatModel, AutoCloseable {

    private final LocalLlm llm;
    private final boolean owned;
    private final String modelName;
    private final String backend;
    private final GenerationOptions defaults;
    private final boolean requireToolCall;

    private LocalLlmChatModel(Builder b) {
        this.llm = b.llm;
        this.owned = b.owned;
        this.defaults = b.defaults;
        this.requireToolCall = b.requireToolCall;
        this.modelName = llm.info().model();
        this.backend = llm.info().backend();
    }

    /**
     * @param llm the open model, which the caller closes
     * @return a chat model with the SDK's defaults
     */
    public static LocalLlmChatModel of(LocalLlm llm) {
        return builder(llm).build();
    }

    /**
     * @param llm the open model
     * @return a builder for default options and ownership
     */
    public static Builder builder(LocalLlm llm) {
        return new Builder(llm);
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        Objects.requireNonNull(prompt, "prompt");
        GenerationOptions options = Mapping.options(modelName, backend, defaults, prompt, requireToolCall);
        Completion c = llm.chat(Mapping.messages(prompt.getInstructions()), options);
        return Mapping.response(backend, modelName, c);
    }

    /**
     * Streams the answer: one response per piece of text or reasoning, then a last one with the tool calls, the
     * finish reason and the usage. Cancelling the subscription cancels the generation.
     */
    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        Objects.requireNonNull(prompt, "prompt");
        return Flux.create(sink -> {
            List<ChatMessage> messages;
            GenerationOptions options;
            try {
                options = Mapping.options(modelName, backend, defaults, prompt, requireToolCall);
                messages = Mapping.messages(prompt.getInstructions());
            } catch (RuntimeException e) {
                sink.error(e);
                return;
            }
            GenerationHandle handle;
            try {
                handle = llm.streamChat(messages, options, new Relay(sink));
            } catch (RuntimeException e) {
                sink.error(e);
                return;
            }
            sink.onDispose(handle::cancel);
        }, FluxSink.OverflowStrategy.BUFFER);
    }

    private final class Relay implements StreamHandler {
        private final FluxSink<ChatResponse> sink;

        Relay(FluxSink<ChatResponse> sink) {
            this.sink = sink;
        }

        @Override
        public void onToken(String text) {
            sink.next(Mapping.response(backend, modelName, text, "", null));
        }

        @Override
        public void onThinking(String text) {
            sink.next(Mapping.response(backend, modelName, "", text, null));
        }

        @Override
        public void onComplete(Completion completion) {
            sink.next(Mapping.response(backend, modelName, "", "", completion));
            sink.complete();
        }

        @Override
        public void onError(Throwable error) {
            sink.error(error);
        }
    }

    /** @return the default Spring AI options: the sampling settings of the default {@link GenerationOptions} */
    @Override
    public ChatOptions getOptions() {
        DefaultToolCallingChatOptions.Builder<?> b = new DefaultToolCallingChatOptions.Builder<>();
        b.model(modelName);
        defaults.temperature().ifPresent(b::temperature);
        defaults.topP().ifPresent(b::topP);
        defaults.topK().ifPresent(b::topK);
        defaults.maxTokens().ifPresent(b::maxTokens);
        if (!defaults.stop().isEmpty()) {
            b.stopSequences(defaults.stop());
        }
        return b.build();
    }

    /** @return the model this adapter talks to */
    public LocalLlm localLlm() {
        return llm;
    }

    /** Closes the {@code LocalLlm} when this model owns it (built with {@link Builder#owned(boolean)}). */
    @Override
    public void close() {
        if (owned) {
            llm.close();
        }
    }

    @Override
    public String toString() {
        return "LocalLlmChatModel[" + backend + ":" + modelName + "]";
    }

    /** Builds a {@link LocalLlmChatModel}; not thread-safe. */
    public static final class Builder {
        private final LocalLlm llm;
        private GenerationOptions defaults = GenerationOptions.defaults();
        private boolean owned;
        private boolean requireToolCall;

        private Builder(LocalLlm llm) {
            this.llm = Objects.requireNonNull(llm, "llm");
        }

        /**
         * @param defaults options every call starts from (seed, repeat penalty, backend options included)
         * @return this builder
         */
        public Builder defaultOptions(GenerationOptions defaults) {
            this.defaults = Objects.requireNonNull(defaults, "defaults");
            return this;
        }

        /**
         * Asks an in-process model (llamacpp, djl) to answer each user message with a call of one of the prompt's
         * tools, its arguments constrained to the tool's schema; after the tool results the model answers freely.
         *
         * @param required true to require the call
         * @return this builder
         */
        public Builder requireToolCall(boolean required) {
            this.requireToolCall = required;
            return this;
        }

        /**
         * @param owned whether {@link LocalLlmChatModel#close()} closes the {@code LocalLlm}
         * @return this builder
         */
        public Builder owned(boolean owned) {
            this.owned = owned;
            return this;
        }

        /** @return the chat model */
        public LocalLlmChatModel build() {
            return new LocalLlmChatModel(this);
        }
    }
}
