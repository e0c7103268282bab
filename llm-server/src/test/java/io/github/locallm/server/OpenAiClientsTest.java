package io.github.locallm.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** LangChain4j's langchain4j-open-ai client against the server's OpenAI-compatible API. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OpenAiClientsTest {

    private static String v1() {
        return Fixture.base() + "/v1";
    }

    private static String expectedChat(String user, int n) {
        return Fixture.TINY.chat(List.of(ChatMessage.user(user)),
                GenerationOptions.builder().temperature(0).maxTokens(n).build()).text();
    }

    @Test
    void chatsAndStreamsWithUsage() throws Exception {
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(v1()).apiKey("unused").modelName("tiny")
                .temperature(0.0).maxTokens(10).timeout(Duration.ofSeconds(60)).build();
        ChatResponse blocking = chat.chat(ChatRequest.builder().messages(UserMessage.from("Hello there")).build());
        assertThat(blocking.aiMessage().text()).isEqualTo(expectedChat("Hello there", 10));
        assertThat(blocking.tokenUsage().outputTokenCount()).isBetween(1, 10);
        assertThat(blocking.tokenUsage().inputTokenCount()).isPositive();

        OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(v1()).apiKey("unused")
                .modelName("tiny").temperature(0.0).maxTokens(10).timeout(Duration.ofSeconds(60)).build();
        Streamed streamed = Streamed.chat(streaming, ChatRequest.builder().messages(UserMessage.from("Hello there")).build());
        assertThat(streamed.pieces()).hasSizeGreaterThan(1);
        assertThat(streamed.text()).isEqualTo(streamed.response().aiMessage().text())
                .isEqualTo(blocking.aiMessage().text());
        // the usage chunk of the stream reached the client
        assertThat(streamed.response().tokenUsage().outputTokenCount()).isEqualTo(blocking.tokenUsage().outputTokenCount());
    }

    @Test
    void toolCallsCarryIdsAndTheResultGoesBack() {
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(v1()).apiKey("unused").modelName("fake")
                .timeout(Duration.ofSeconds(60)).build();
        ToolSpecification weather = ToolSpecification.builder().name("get_weather").description("Weather of a city")
                .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();
        UserMessage question = UserMessage.from("What is the weather in Lyon");
        ChatResponse r = chat.chat(ChatRequest.builder().messages(question).toolSpecifications(weather).build());
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_EXECUTION);
        List<ToolExecutionRequest> calls = r.aiMessage().toolExecutionRequests();
        assertThat(calls).extracting(ToolExecutionRequest::name).containsExactly("get_weather");
        assertThat(calls.get(0).id()).startsWith("call_");
        assertThat(calls.get(0).arguments()).contains("\"city\"").contains("Lyon");

        ChatResponse answer = chat.chat(ChatRequest.builder().messages(question, r.aiMessage(),
                ToolExecutionResultMessage.from(calls.get(0), "sunny")).toolSpecifications(weather).build());
        assertThat(answer.aiMessage().hasToolExecutionRequests()).isFalse();
        assertThat(answer.aiMessage().text()).isNotBlank();
    }

    @Test
    void toolCallsOfTheInProcessGgufModel() {
        // the tiny GGUF cannot choose to call a tool: tool_choice=required makes llama.cpp's grammar force one
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(v1()).apiKey("unused").modelName("tiny")
                .temperature(0.0).maxTokens(128).timeout(Duration.ofSeconds(60)).build();
        // an enum keeps the forced arguments short: a random model need not end a free string
        ToolSpecification weather = ToolSpecification.builder().name("get_weather").description("Weather of a city")
                .parameters(JsonObjectSchema.builder().addEnumProperty("city", List.of("Lyon", "Paris"))
                        .required("city").build()).build();
        ChatResponse r = chat.chat(ChatRequest.builder().messages(UserMessage.from("What is the weather in Lyon"))
                .toolSpecifications(weather).toolChoice(ToolChoice.REQUIRED).build());
        List<ToolExecutionRequest> calls = r.aiMessage().toolExecutionRequests();
        assertThat(calls).isNotEmpty();
        assertThat(calls.get(0).name()).isEqualTo("get_weather");
        assertThat(calls.get(0).id()).isNotBlank();
        assertThat(calls.get(0).arguments()).startsWith("{").contains("\"city\"").containsAnyOf("Lyon", "Paris");
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_EXECUTION);
    }

    @Test
    void streamsToolCalls() throws Exception {
        OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(v1()).apiKey("unused")
                .modelName("fake").timeout(Duration.ofSeconds(60)).build();
        ToolSpecification weather = ToolSpecification.builder().name("get_weather").description("Weather of a city")
                .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();
        AiMessage m = Streamed.chat(streaming, ChatRequest.builder().messages(UserMessage.from("Weather in Nice"))
                .toolSpecifications(weather).build()).response().aiMessage();
        assertThat(m.toolExecutionRequests()).hasSize(1);
        assertThat(m.toolExecutionRequests().get(0).arguments()).contains("Nice");
    }

    @Test
    void embeds() {
        OpenAiEmbeddingModel model = OpenAiEmbeddingModel.builder().baseUrl(v1()).apiKey("unused")
                .modelName("tiny-embed").timeout(Duration.ofSeconds(60)).build();
        float[] got = model.embed("some words").content().vector();
        assertThat(got).containsExactly(Fixture.TINY_EMBED.embed("some words"));
    }
}
