package io.github.locallm.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.CompleteToolCall;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.PartialThinking;
import dev.langchain4j.model.chat.response.PartialThinkingContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationHandle;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.StreamHandler;
import io.github.locallm.UnsupportedCapabilityException;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A LangChain4j {@link StreamingChatModel} backed by a {@link LocalLlm}: answer pieces reach
 * {@code onPartialResponse} as the model produces them, reasoning reaches {@code onPartialThinking}, and tool
 * calls reach {@code onCompleteToolCall} once each is whole, before {@code onCompleteResponse}.
 *
 * <pre>{@code
 * StreamingChatModel model = LocalLlmStreamingChatModel.of(llm);
 * model.chat("Explique-moi Python en une phrase", new StreamingChatResponseHandler() {
 *     public void onPartialResponse(String piece) { System.out.print(piece); }
 *     public void onCompleteResponse(ChatResponse response) { System.out.println(); }
 *     public void onError(Throwable error) { error.printStackTrace(); }
 * });
 * }</pre>
 *
 * <p>A request the model cannot serve (a parameter this SDK has no meaning for, a capability the model lacks, an
 * invalid value) is refused by {@code chat} itself with {@code UnsupportedFeatureException} or
 * {@code InvalidRequestException}, before any work, as LangChain4j's streaming models validate requests; failures
 * of the model (closed, context overflow, engine error) reach {@code onError}.
 *
 * <p>Cancelling through the {@link StreamingHandle} of a partial-response context stops the generation
 * promptly; no callback follows a cancel. An exception thrown by the handler's {@code onPartialResponse} or
 * {@code onCompleteResponse} is passed to its {@code onError}, and one thrown by {@code onError} is ignored,
 * as LangChain4j specifies. Requests are mapped as {@link LocalLlmChatModel} maps them. Thread-safe.
 */
public final class LocalLlmStreamingChatModel implements StreamingChatModel {

    private final AdapterBuilder.Settings settings;
    private final LocalLlm llm;
    private final String modelName;

    private LocalLlmStreamingChatModel(Builder b) {
        this.settings = new AdapterBuilder.Settings(b);
        this.llm = settings.llm();
        this.modelName = settings.modelName();
    }

    /**
     * @param llm the open model
     * @return a streaming chat model with the SDK's defaults
     */
    public static LocalLlmStreamingChatModel of(LocalLlm llm) {
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
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Objects.requireNonNull(handler, "handler");
        List<ChatMessage> messages;
        GenerationOptions options;
        try {
            options = settings.options(request);
            messages = Mapping.messages(request.messages());
        } catch (RuntimeException e) {
            // a request this model cannot serve is refused before any work, by the call itself
            throw Mapping.error(e);
        }
        Relay relay = new Relay(handler);
        try {
            GenerationHandle h = llm.streamChat(messages, options, relay);
            relay.handle.set(h);
            if (relay.cancelled.get()) {
                h.cancel(); // cancelled from a callback that ran before the handle was known
            }
        } catch (UnsupportedCapabilityException | IllegalArgumentException e) {
            throw Mapping.error(e); // the model lacks a capability the request needs, or an option is invalid
        } catch (RuntimeException e) {
            // the model failed to start (closed, engine gone): the handler hears it once
            relay.onError(e);
        }
    }

    private static void quietly(StreamingChatResponseHandler handler, Throwable error) {
        try {
            handler.onError(error);
        } catch (RuntimeException ignored) {
            // LangChain4j's rule: an exception thrown by onError goes nowhere
        }
    }

    /** Passes one generation's events to a LangChain4j handler, holding the cancel state of its handle. */
    private final class Relay implements StreamHandler, StreamingHandle {
        private final StreamingChatResponseHandler handler;
        private final AtomicReference<GenerationHandle> handle = new AtomicReference<>();
        private final AtomicBoolean cancelled = new AtomicBoolean();
        private final AtomicBoolean ended = new AtomicBoolean();

        Relay(StreamingChatResponseHandler handler) {
            this.handler = handler;
        }

        @Override
        public void onToken(String text) {
            if (cancelled.get()) {
                return;
            }
            try {
                handler.onPartialResponse(new PartialResponse(text), new PartialResponseContext(this));
            } catch (RuntimeException e) {
                quietly(handler, e);
            }
        }

        @Override
        public void onThinking(String text) {
            if (cancelled.get()) {
                return;
            }
            try {
                handler.onPartialThinking(new PartialThinking(text), new PartialThinkingContext(this));
            } catch (RuntimeException e) {
                quietly(handler, e);
            }
        }

        @Override
        public void onComplete(Completion completion) {
            if (cancelled.get() || !ended.compareAndSet(false, true)) {
                return;
            }
            try {
                for (int i = 0; i < completion.toolCalls().size(); i++) {
                    handler.onCompleteToolCall(new CompleteToolCall(i, Mapping.toolRequest(completion.toolCalls().get(i))));
                }
                ChatResponse response = Mapping.response(modelName, completion);
                handler.onCompleteResponse(response);
            } catch (RuntimeException e) {
                quietly(handler, e);
            }
        }

        @Override
        public void onError(Throwable error) {
            if (cancelled.get() || !ended.compareAndSet(false, true)) {
                return;
            }
            quietly(handler, Mapping.error(error));
        }

        @Override
        public void cancel() {
            if (cancelled.compareAndSet(false, true)) {
                GenerationHandle h = handle.get();
                if (h != null) {
                    h.cancel();
                }
            }
        }

        @Override
        public boolean isCancelled() {
            return cancelled.get();
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

    @Override
    public String toString() {
        return settings.describe("LocalLlmStreamingChatModel");
    }

    /** Builds a {@link LocalLlmStreamingChatModel}; not thread-safe. */
    public static final class Builder extends AdapterBuilder<Builder> {
        private Builder(LocalLlm llm) {
            super(llm);
        }

        /** @return the streaming chat model */
        public LocalLlmStreamingChatModel build() {
            return new LocalLlmStreamingChatModel(this);
        }
    }
}
