package io.github.locallm.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelErrorContext;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.demo.DemoModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Chat-model cases beyond LangChain4j's published suite ({@link PublishedChatModelSuiteTest}), on the project's
 * demo model: the string shortcut, default options LangChain4j has no field for, parameters refused here, invalid
 * values, and capabilities the model lacks.
 */
class ChatModelTest {

    private final ChatModel model = LocalLlmChatModel.builder(Demo.chat()).defaultOptions(Demo.GREEDY).build();

    @Test
    void theStringShortcutAndTheSdkGiveTheSameAnswer() {
        String viaAdapter = model.chat(Demo.QUESTION);
        String viaSdk = Demo.chat().chat(List.of(io.github.locallm.ChatMessage.user(Demo.QUESTION)), Demo.GREEDY).text();

        assertThat(viaAdapter).isEqualTo(viaSdk);
    }

    @Test
    void respectsMaxOutputTokensInTheDefaults() {
        ChatModel limited = LocalLlmChatModel.builder(Demo.chat())
                .defaultOptions(Demo.GREEDY.toBuilder().maxTokens(2).build()).build();

        ChatResponse r = limited.chat(ChatRequest.builder().messages(UserMessage.from(Demo.QUESTION)).build());

        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(2);
        assertThat(limited.defaultRequestParameters().maxOutputTokens()).isEqualTo(2);
        assertThat(limited.defaultRequestParameters().temperature()).isEqualTo(0.0);
    }

    @Test
    void jsonResponseFormatGivesJson() throws Exception {
        JsonSchema schema = JsonSchema.builder().name("answer").rootElement(JsonObjectSchema.builder()
                .addBooleanProperty("ok").required("ok").build()).build();
        ChatResponse r = model.chat(ChatRequest.builder().messages(UserMessage.from(Demo.QUESTION))
                .parameters(ChatRequestParameters.builder().maxOutputTokens(64)
                        .responseFormat(ResponseFormat.builder().type(ResponseFormatType.JSON).jsonSchema(schema)
                                .build()).build()).build());

        JsonNode json = new ObjectMapper().readTree(r.aiMessage().text());
        assertThat(json.isObject()).as(r.aiMessage().text()).isTrue();
        assertThat(json.get("ok").isBoolean()).as(r.aiMessage().text()).isTrue();
        assertThat(model.supportedCapabilities())
                .contains(dev.langchain4j.model.chat.Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    @Test
    void penaltiesWithoutMeaningHereAreRefused() {
        assertThatThrownBy(() -> model.chat(ChatRequest.builder().messages(UserMessage.from("x"))
                .parameters(ChatRequestParameters.builder().frequencyPenalty(0.5).build()).build()))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("frequencyPenalty");
        assertThatThrownBy(() -> model.chat(ChatRequest.builder().messages(UserMessage.from("x"))
                .parameters(ChatRequestParameters.builder().presencePenalty(0.5).build()).build()))
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("presencePenalty");
    }

    @Test
    void anInvalidValueIsAnInvalidRequest() {
        assertThatThrownBy(() -> model.chat(ChatRequest.builder().messages(UserMessage.from("x"))
                .parameters(ChatRequestParameters.builder().temperature(7.0).build()).build()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("temperature");
    }

    @Test
    void imagesOnAModelWithoutVisionAreRefusedBeforeAnyWork() {
        List<String> events = new ArrayList<>();
        ChatModel listened = LocalLlmChatModel.builder(Demo.chat()).defaultOptions(Demo.GREEDY)
                .listeners(List.of(recorder(events))).build();

        assertThatThrownBy(() -> listened.chat(ChatRequest.builder().messages(UserMessage.from(
                TextContent.from("What is this?"), ImageContent.from("aGVsbG8=", "image/png"))).build()))
                .isInstanceOf(UnsupportedFeatureException.class)
                .hasCauseInstanceOf(UnsupportedCapabilityException.class);
        assertThat(events).containsExactly("request", "error");
    }

    @Test
    void toolsOnAModelWithoutToolCallingAreRefusedWithTheCapabilityAsCause() {
        if (Demo.chat().info().supports(io.github.locallm.Capability.TOOLS)) {
            // the model calls tools: covered by the AI Service tests instead
            assertThat(model.chat(ChatRequest.builder().messages(UserMessage.from(Demo.QUESTION))
                    .toolSpecifications(weather()).build()).aiMessage()).isNotNull();
            return;
        }
        assertThatThrownBy(() -> model.chat(ChatRequest.builder().messages(UserMessage.from(Demo.QUESTION))
                .toolSpecifications(weather()).build()))
                .isInstanceOf(UnsupportedFeatureException.class)
                .hasCauseInstanceOf(UnsupportedCapabilityException.class);
    }

    @Test
    void defaultOptionsOutsideLangChain4jStillApply() {
        ChatModel seeded = LocalLlmChatModel.builder(Demo.chat())
                .defaultOptions(GenerationOptions.builder().temperature(1.5).seed(7).maxTokens(12).build()).build();

        String first = seeded.chat("Raconte une histoire");
        String second = seeded.chat("Raconte une histoire");

        assertThat(first).isEqualTo(second);
    }

    static ToolSpecification weather() {
        return ToolSpecification.builder().name("weather").description("Current weather in a city")
                .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();
    }

    static ChatModelListener recorder(List<String> events) {
        return new ChatModelListener() {
            @Override
            public void onRequest(ChatModelRequestContext ctx) {
                events.add("request");
            }

            @Override
            public void onResponse(ChatModelResponseContext ctx) {
                events.add("response:" + ctx.chatResponse().aiMessage().text());
            }

            @Override
            public void onError(ChatModelErrorContext ctx) {
                events.add("error");
            }
        };
    }
}
