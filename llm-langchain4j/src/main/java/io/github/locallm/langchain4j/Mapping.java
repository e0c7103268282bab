package io.github.locallm.langchain4j;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.image.Image;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.exception.RetriableException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.request.json.JsonSchemaElement;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.github.locallm.BackendUnavailableException;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelInfo;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import io.github.locallm.UnsupportedCapabilityException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * Translates between LangChain4j's chat types and this SDK's, both ways. The one place where the adapter's
 * rules live: every model class of this package goes through it.
 */
final class Mapping {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Mapping() {
    }

    /** The LangChain4j view of the defaults an adapter was built with, so that LangChain4j can merge requests. */
    static ChatRequestParameters parameters(String modelName, GenerationOptions defaults) {
        DefaultChatRequestParameters.Builder<?> b = DefaultChatRequestParameters.builder()
                .modelName(modelName);
        defaults.temperature().ifPresent(b::temperature);
        defaults.topP().ifPresent(b::topP);
        defaults.topK().ifPresent(b::topK);
        defaults.maxTokens().ifPresent(b::maxOutputTokens);
        if (!defaults.stop().isEmpty()) {
            b.stopSequences(defaults.stop());
        }
        return b.build();
    }

    /** The messages of a request in this SDK's form; refuses content this SDK cannot carry. */
    static List<ChatMessage> messages(List<dev.langchain4j.data.message.ChatMessage> in) {
        List<ChatMessage> out = new ArrayList<>(in.size());
        for (dev.langchain4j.data.message.ChatMessage m : in) {
            out.add(message(m));
        }
        return out;
    }

    private static ChatMessage message(dev.langchain4j.data.message.ChatMessage m) {
        if (m instanceof SystemMessage s) {
            return ChatMessage.system(s.text());
        }
        if (m instanceof UserMessage u) {
            StringBuilder text = new StringBuilder();
            List<String> images = new ArrayList<>();
            for (Content c : u.contents()) {
                if (c instanceof TextContent t) {
                    if (text.length() > 0) {
                        text.append('\n');
                    }
                    text.append(t.text());
                } else if (c instanceof ImageContent i) {
                    images.add(base64(i.image()));
                } else {
                    throw new UnsupportedFeatureException("LocalLLM accepts text and base64 images in user messages, not "
                            + c.type() + " content");
                }
            }
            return new ChatMessage(ChatMessage.Role.USER, text.toString(), List.of(), images, "");
        }
        if (m instanceof AiMessage a) {
            List<ToolCall> calls = new ArrayList<>();
            if (a.hasToolExecutionRequests()) {
                for (ToolExecutionRequest r : a.toolExecutionRequests()) {
                    calls.add(new ToolCall(Objects.requireNonNullElse(r.id(), ""), r.name(),
                            Objects.requireNonNullElse(r.arguments(), "{}")));
                }
            }
            return ChatMessage.assistant(Objects.requireNonNullElse(a.text(), ""), calls);
        }
        if (m instanceof ToolExecutionResultMessage t) {
            return new ChatMessage(ChatMessage.Role.TOOL, t.text(), List.of(), List.of(),
                    Objects.requireNonNullElse(t.toolName(), ""), Objects.requireNonNullElse(t.id(), ""));
        }
        throw new UnsupportedFeatureException("LocalLLM cannot send a " + m.type() + " message to a model");
    }

    private static String base64(Image image) {
        if (image.base64Data() != null) {
            return image.base64Data();
        }
        throw new UnsupportedFeatureException("images given by URL are not supported: LocalLLM does not fetch "
                + image.url() + "; read it and pass ImageContent.from(base64, mimeType)");
    }

    /**
     * The generation options of a request for a model of the named backend: the adapter's defaults with the
     * request's parameters laid over them. Parameters this SDK has no meaning for are refused, as LangChain4j asks.
     */
    static GenerationOptions options(String modelName, String backend, GenerationOptions defaults,
                                     ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        GenerationOptions.Builder b = defaults.toBuilder();
        if (p == null) {
            return b.build();
        }
        refuseUnsupported(modelName, p);
        try {
            if (p.temperature() != null) {
                b.temperature(p.temperature());
            }
            if (p.topP() != null) {
                b.topP(p.topP());
            }
            if (p.topK() != null) {
                b.topK(p.topK());
            }
            if (p.maxOutputTokens() != null) {
                b.maxTokens(p.maxOutputTokens());
            }
            if (p.stopSequences() != null && !p.stopSequences().isEmpty()) {
                b.stop(p.stopSequences());
            }
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(e.getMessage(), e);
        }
        List<ToolSpecification> tools = p.toolSpecifications();
        boolean toolsOffered = tools != null && !tools.isEmpty();
        if (toolsOffered && p.toolChoice() != ToolChoice.NONE) {
            if (p.toolChoice() == ToolChoice.REQUIRED) {
                // core applies it to the user's turn only, so that AI Services' tool loop ends; a model that cannot
                // force a call refuses it (UnsupportedFeatureException)
                b.toolChoice(io.github.locallm.ToolChoice.REQUIRED);
            }
            for (ToolSpecification t : tools) {
                b.tool(new ToolSpec(t.name(), Objects.requireNonNullElse(t.description(), ""),
                        toolParameters(t)));
            }
        }
        dev.langchain4j.model.chat.request.ResponseFormat format = p.responseFormat();
        if (format != null && format.type() == ResponseFormatType.JSON) {
            JsonSchema schema = format.jsonSchema();
            b.responseFormat(schema == null || schema.rootElement() == null
                    ? ResponseFormat.JSON
                    : ResponseFormat.jsonSchema(schemaText(schema.rootElement())));
        }
        return b.build();
    }

    /**
     * Refuses the parameters this SDK has no meaning for, in a request or in an adapter's default parameters.
     *
     * @throws UnsupportedFeatureException naming the parameter and what to do instead
     */
    static void refuseUnsupported(String modelName, ChatRequestParameters p) {
        if (p.modelName() != null && !p.modelName().equals(modelName)) {
            throw new UnsupportedFeatureException("modelName '" + p.modelName() + "' is not supported: this model is '"
                    + modelName + "' and a LocalLlm serves one model, so open a LocalLlm for '" + p.modelName()
                    + "' instead");
        }
        if (p.frequencyPenalty() != null) {
            throw new UnsupportedFeatureException(
                    "frequencyPenalty is not supported by LocalLLM: use repeatPenalty in the default GenerationOptions");
        }
        if (p.presencePenalty() != null) {
            throw new UnsupportedFeatureException(
                    "presencePenalty is not supported by LocalLLM: use repeatPenalty in the default GenerationOptions");
        }
    }

    private static String toolParameters(ToolSpecification t) {
        if (t.parameters() == null) {
            return "{\"type\":\"object\",\"properties\":{}}";
        }
        return schemaText(t.parameters());
    }

    private static String schemaText(JsonSchemaElement element) {
        if (element instanceof JsonRawSchema raw) {
            return raw.schema();
        }
        Map<String, Object> map = new LinkedHashMap<>(JsonSchemaElementUtils.toMap(element));
        try {
            return JSON.writeValueAsString(map);
        } catch (JsonProcessingException e) {
            throw new InvalidRequestException("the JSON schema cannot be written as JSON: " + e.getMessage(), e);
        }
    }

    /** The LangChain4j response for a completion of this SDK. */
    static ChatResponse response(String modelName, Completion c) {
        AiMessage.Builder message = AiMessage.builder().text(c.text().isEmpty() && !c.toolCalls().isEmpty()
                ? null : c.text());
        if (!c.thinking().isEmpty()) {
            message.thinking(c.thinking());
        }
        if (!c.toolCalls().isEmpty()) {
            message.toolExecutionRequests(toolRequests(c.toolCalls()));
        }
        ChatResponseMetadata metadata = ChatResponseMetadata.builder()
                .id("locallm-" + UUID.randomUUID())
                .modelName(modelName)
                .tokenUsage(new TokenUsage(c.usage().promptTokens(), c.usage().completionTokens()))
                .finishReason(finishReason(c.finishReason()))
                .build();
        return ChatResponse.builder().aiMessage(message.build()).metadata(metadata).build();
    }

    static List<ToolExecutionRequest> toolRequests(List<ToolCall> calls) {
        List<ToolExecutionRequest> out = new ArrayList<>(calls.size());
        for (ToolCall call : calls) {
            out.add(toolRequest(call));
        }
        return out;
    }

    static ToolExecutionRequest toolRequest(ToolCall call) {
        return ToolExecutionRequest.builder()
                .id(call.id().isEmpty() ? null : call.id())
                .name(call.name())
                .arguments(call.argumentsJson())
                .build();
    }

    static FinishReason finishReason(io.github.locallm.FinishReason reason) {
        switch (reason) {
            case STOP:
                return FinishReason.STOP;
            case LENGTH:
                return FinishReason.LENGTH;
            case TOOL_CALLS:
                return FinishReason.TOOL_EXECUTION;
            default:
                return FinishReason.OTHER;
        }
    }

    /** The LangChain4j capabilities that the model's own capabilities amount to. */
    static Set<dev.langchain4j.model.chat.Capability> capabilities(ModelInfo info) {
        return info.supports(Capability.JSON_SCHEMA)
                ? Set.of(dev.langchain4j.model.chat.Capability.RESPONSE_FORMAT_JSON_SCHEMA)
                : Set.of();
    }

    /**
     * An error of this SDK as the LangChain4j exception type that means the same, with the original as cause so
     * that its facts (capability, token counts) stay reachable.
     */
    static RuntimeException error(Throwable e) {
        if (e instanceof LangChain4jException l) {
            return l;
        }
        if (e instanceof UnsupportedCapabilityException c) {
            UnsupportedFeatureException u = new UnsupportedFeatureException(
                    c.capability().map(x -> x + " is not supported: ").orElse("not supported: ") + e.getMessage());
            u.initCause(e);
            return u;
        }
        if (e instanceof ModelNotFoundException) {
            return new dev.langchain4j.exception.ModelNotFoundException(e.getMessage(), e);
        }
        if (e instanceof ContextOverflowException || e instanceof IllegalArgumentException) {
            return new InvalidRequestException(e.getMessage(), e);
        }
        if (e instanceof BackendUnavailableException) {
            return new RetriableException(e.getMessage(), e);
        }
        if (e instanceof LlmException) {
            return new LangChain4jException(e.getMessage(), e);
        }
        if (e instanceof RuntimeException r) {
            return r;
        }
        return new LangChain4jException(e.getMessage(), e);
    }
}
