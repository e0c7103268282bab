package io.github.locallm.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.Result;
import dev.langchain4j.service.TokenStream;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A LangChain4j AI Service with a {@code @Tool} method and chat memory on an in-process GGUF model the test
 * writes (random weights, the published Qwen2.5 chat template read from the shared test material). With
 * {@code ToolChoice.REQUIRED} the model's first answer is constrained to a valid call of the tool; after the tool
 * result the model answers freely, so the AI Service's loop ends with an answer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AiServiceToolTest {

    interface WeatherAssistant {
        Result<String> chat(String message);
    }

    interface StreamingAssistant {
        TokenStream chat(String message);
    }

    /** The cities the tool knows; an enum keeps the constrained arguments short whatever the weights. */
    enum City { PARIS, LYON, NICE }

    /** The tool: records each call. */
    static final class WeatherTools {
        final List<String> cities = new CopyOnWriteArrayList<>();

        @Tool("Current weather in a city")
        String weather(@P("the city") City city) {
            cities.add(city.name());
            return "{\"temperature\": 21, \"sky\": \"clear\"}";
        }
    }

    private LocalLlm llm;

    @BeforeAll
    void open() throws IOException {
        Path dir = Files.createTempDirectory("lc4j-tools-");
        dir.toFile().deleteOnExit();
        Path file = dir.resolve("qwen25-tools.gguf");
        String template = Files.readString(Path.of(System.getProperty("locallm.shared.dir"), "chat-templates",
                "Qwen-Qwen2.5-7B-Instruct.jinja"), StandardCharsets.UTF_8);
        GgufWriter.write(TinyModels.qwen2Bias().withChatTemplate(template), file, GgufWriter.Quantization.F32);
        file.toFile().deleteOnExit();
        llm = LocalLlm.open(file, OpenOptions.builder().threads(1).build());
    }

    @AfterAll
    void close() {
        llm.close();
    }

    private GenerationOptions defaults(long seed) {
        return GenerationOptions.builder().temperature(0.8).seed(seed).maxTokens(160).build();
    }

    @Test
    void theAiServiceCallsTheToolAndAnswers() {
        WeatherTools tools = new WeatherTools();
        MessageWindowChatMemory memory = MessageWindowChatMemory.withMaxMessages(20);
        ChatModel model = LocalLlmChatModel.builder(llm).defaultOptions(defaults(3)).build();
        WeatherAssistant assistant = AiServices.builder(WeatherAssistant.class).chatModel(model).chatMemory(memory)
                .tools(tools)
                .chatRequestTransformer(r -> ChatRequest.builder().messages(r.messages())
                        .parameters(r.parameters().overrideWith(
                                ChatRequestParameters.builder().toolChoice(ToolChoice.REQUIRED).build())).build())
                .build();

        Result<String> result = assistant.chat("What's the weather in Paris?");

        assertThat(tools.cities).hasSize(1);
        assertThat(result.toolExecutions()).hasSize(1);
        assertThat(result.content()).isNotNull();
        assertThat(result.finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
        List<ChatMessage> history = memory.messages();
        assertThat(history).hasSize(4);
        assertThat(history.get(0)).isInstanceOf(UserMessage.class);
        AiMessage call = (AiMessage) history.get(1);
        assertThat(call.toolExecutionRequests()).singleElement().satisfies(r -> {
            assertThat(r.name()).isEqualTo("weather");
            assertThat(r.id()).isNotBlank();
            // the one argument (named after the Java parameter) carries the city the tool received
            assertThat(new ObjectMapper().readTree(r.arguments()).elements().next().asText())
                    .isEqualTo(tools.cities.get(0));
        });
        ToolExecutionResultMessage answered = (ToolExecutionResultMessage) history.get(2);
        assertThat(answered.id()).isEqualTo(call.toolExecutionRequests().get(0).id());
        assertThat(((AiMessage) history.get(3)).text()).isEqualTo(result.content());
    }

    @Test
    void theStreamingAiServiceCallsTheToolAndAnswers() throws Exception {
        WeatherTools tools = new WeatherTools();
        StreamingChatModel model = LocalLlmStreamingChatModel.builder(llm).defaultOptions(defaults(5)).build();
        StreamingAssistant assistant = AiServices.builder(StreamingAssistant.class).streamingChatModel(model)
                .chatMemory(MessageWindowChatMemory.withMaxMessages(20)).tools(tools)
                .chatRequestTransformer(r -> ChatRequest.builder().messages(r.messages())
                        .parameters(r.parameters().overrideWith(
                                ChatRequestParameters.builder().toolChoice(ToolChoice.REQUIRED).build())).build())
                .build();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        StringBuilder pieces = new StringBuilder();

        assistant.chat("What's the weather in Lyon?").onPartialResponse(pieces::append)
                .onCompleteResponse(done::complete).onError(done::completeExceptionally).start();

        ChatResponse last = done.get(120, TimeUnit.SECONDS);
        assertThat(tools.cities).hasSize(1);
        assertThat(last.aiMessage().hasToolExecutionRequests()).isFalse();
        assertThat(pieces.toString()).isEqualTo(last.aiMessage().text());
    }

    @Test
    void requiredIsTheCoreToolChoiceWhichAppliesToTheUsersTurnOnly() {
        ChatRequest afterUser = ChatRequest.builder().messages(UserMessage.from("Weather?"))
                .toolSpecifications(ChatModelTest.weather()).toolChoice(ToolChoice.REQUIRED).build();
        ChatRequest auto = ChatRequest.builder().messages(UserMessage.from("Weather?"))
                .toolSpecifications(ChatModelTest.weather()).build();
        ChatRequest none = ChatRequest.builder().messages(UserMessage.from("Weather?"))
                .toolSpecifications(ChatModelTest.weather()).toolChoice(ToolChoice.NONE).build();

        for (String backend : List.of("llamacpp", "djl", "ollama", "openai")) {
            // one typed option whatever the backend: core forces the call, or the backend refuses it
            assertThat(Mapping.options("m", backend, GenerationOptions.defaults(), afterUser).toolChoice())
                    .as(backend).contains(io.github.locallm.ToolChoice.REQUIRED);
        }
        // a backend that cannot force a call refuses it as LangChain4j expects
        assertThat(Mapping.error(new io.github.locallm.UnsupportedCapabilityException("Ollama's chat API has no tool"
                + " choice", io.github.locallm.Capability.TOOL_CHOICE)))
                .isExactlyInstanceOf(dev.langchain4j.exception.UnsupportedFeatureException.class)
                .hasMessageContaining("not supported").hasCauseInstanceOf(
                        io.github.locallm.UnsupportedCapabilityException.class);
        assertThat(Mapping.options("m", "llamacpp", GenerationOptions.defaults(), afterUser).backendOptions())
                .as("no backend option any more").isEmpty();
        assertThat(Mapping.options("m", "llamacpp", GenerationOptions.defaults(), auto).toolChoice()).isEmpty();
        assertThat(Mapping.options("m", "llamacpp", GenerationOptions.defaults(), none).tools()).isEmpty();
    }
}
