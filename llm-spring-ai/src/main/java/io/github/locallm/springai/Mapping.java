package io.github.locallm.springai;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.ai.model.tool.StructuredOutputChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.ToolDefinition;

/** Translates between Spring AI's chat types and this SDK's, both ways; the one place the adapter's rules live. */
final class Mapping {

    /** Metadata key of the reasoning text the model produced apart from its answer. */
    static final String THINKING = "thinking";
    /** Metadata key of the backend that answered ({@code llamacpp}, {@code djl}, {@code ollama}...). */
    static final String BACKEND = "locallm.backend";

    private Mapping() {
    }

    static List<ChatMessage> messages(List<Message> in) {
        List<ChatMessage> out = new ArrayList<>(in.size());
        for (Message m : in) {
            if (m instanceof SystemMessage s) {
                out.add(ChatMessage.system(text(s.getText())));
            } else if (m instanceof UserMessage u) {
                List<String> images = new ArrayList<>();
                for (Media media : u.getMedia()) {
                    images.add(base64(media));
                }
                out.add(new ChatMessage(ChatMessage.Role.USER, text(u.getText()), List.of(), images, ""));
            } else if (m instanceof AssistantMessage a) {
                List<ToolCall> calls = new ArrayList<>();
                for (AssistantMessage.ToolCall c : a.getToolCalls()) {
                    calls.add(new ToolCall(Objects.requireNonNullElse(c.id(), ""), c.name(),
                            Objects.requireNonNullElse(c.arguments(), "{}")));
                }
                out.add(ChatMessage.assistant(text(a.getText()), calls));
            } else if (m instanceof ToolResponseMessage t) {
                for (ToolResponseMessage.ToolResponse r : t.getResponses()) {
                    out.add(new ChatMessage(ChatMessage.Role.TOOL, text(r.responseData()), List.of(), List.of(),
                            Objects.requireNonNullElse(r.name(), ""), Objects.requireNonNullElse(r.id(), "")));
                }
            } else {
                throw new IllegalArgumentException("LocalLLM cannot send a " + m.getMessageType()
                        + " message to a model");
            }
        }
        return out;
    }

    private static String text(String s) {
        return s == null ? "" : s;
    }

    private static String base64(Media media) {
        Object data = media.getData();
        if (data instanceof byte[] bytes) {
            return Base64.getEncoder().encodeToString(bytes);
        }
        throw new IllegalArgumentException("LocalLLM sends images as bytes only; media given by URL (" + data
                + ") is not fetched: read it and attach it with Media.builder().data(bytes)");
    }

    /**
     * The options of one call: the adapter's default {@link GenerationOptions} with the prompt's options laid over
     * them, and a required tool call when asked for. Core applies a required call to the user's turn only (once
     * tool results follow the model answers freely, so that Spring AI's tool-calling loop ends), and a model that
     * cannot force a call refuses it. A call without tools is answered in text.
     */
    static GenerationOptions options(String modelName, String backend, GenerationOptions defaults, Prompt prompt,
                                     boolean requireToolCall) {
        GenerationOptions.Builder b = defaults.toBuilder();
        GenerationOptions o = prompt.getOptions() == null ? b.build() : overlay(b, modelName, prompt.getOptions());
        if (requireToolCall && !o.tools().isEmpty()) {
            o = o.toBuilder().toolChoice(io.github.locallm.ToolChoice.REQUIRED).build();
        }
        return o;
    }

    private static GenerationOptions overlay(GenerationOptions.Builder b, String modelName, ChatOptions prompt) {
        if (prompt.getModel() != null && !prompt.getModel().equals(modelName)) {
            throw new IllegalArgumentException("this model is '" + modelName + "'; a LocalLlm serves one model, so "
                    + "open a LocalLlm for '" + prompt.getModel() + "' instead");
        }
        if (prompt.getFrequencyPenalty() != null || prompt.getPresencePenalty() != null) {
            throw new IllegalArgumentException("frequencyPenalty and presencePenalty are not supported by LocalLLM: "
                    + "set repeatPenalty in the default GenerationOptions");
        }
        if (prompt.getTemperature() != null) {
            b.temperature(prompt.getTemperature());
        }
        if (prompt.getTopP() != null) {
            b.topP(prompt.getTopP());
        }
        if (prompt.getTopK() != null) {
            b.topK(prompt.getTopK());
        }
        if (prompt.getMaxTokens() != null) {
            b.maxTokens(prompt.getMaxTokens());
        }
        if (prompt.getStopSequences() != null && !prompt.getStopSequences().isEmpty()) {
            b.stop(prompt.getStopSequences());
        }
        if (prompt instanceof ToolCallingChatOptions tools && tools.getToolCallbacks() != null) {
            for (ToolCallback callback : tools.getToolCallbacks()) {
                ToolDefinition d = callback.getToolDefinition();
                b.tool(new ToolSpec(d.name(), Objects.requireNonNullElse(d.description(), ""), d.inputSchema()));
            }
        }
        if (prompt instanceof StructuredOutputChatOptions structured && structured.getOutputSchema() != null) {
            b.responseFormat(io.github.locallm.ResponseFormat.jsonSchema(structured.getOutputSchema()));
        }
        return b.build();
    }

    static ChatResponse response(String backend, String modelName, Completion c) {
        return response(backend, modelName, c.text(), c.thinking(), c);
    }

    /** A response carrying the given text, with the completion's tool calls, finish reason and usage. */
    static ChatResponse response(String backend, String modelName, String text, String thinking, Completion c) {
        Generation generation = new Generation(assistant(text, thinking, c == null ? List.of() : c.toolCalls()),
                c == null ? ChatGenerationMetadata.NULL
                        : ChatGenerationMetadata.builder().finishReason(c.finishReason().name()).build());
        ChatResponseMetadata.Builder metadata = ChatResponseMetadata.builder()
                .id("locallm-" + UUID.randomUUID())
                .model(modelName)
                .keyValue(BACKEND, backend);
        if (c != null) {
            metadata.usage(new DefaultUsage(c.usage().promptTokens(), c.usage().completionTokens()));
        }
        return new ChatResponse(List.of(generation), metadata.build());
    }

    private static AssistantMessage assistant(String text, String thinking, List<ToolCall> calls) {
        List<AssistantMessage.ToolCall> out = new ArrayList<>(calls.size());
        for (ToolCall c : calls) {
            String id = c.id().isEmpty() ? "call_" + UUID.randomUUID() : c.id();
            out.add(new AssistantMessage.ToolCall(id, "function", c.name(), c.argumentsJson()));
        }
        AssistantMessage.Builder<?> b = AssistantMessage.builder().content(text).toolCalls(out);
        if (thinking != null && !thinking.isEmpty()) {
            b.properties(Map.of(THINKING, thinking));
        }
        return b.build();
    }
}
