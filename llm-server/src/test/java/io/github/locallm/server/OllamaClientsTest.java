package io.github.locallm.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.ollama.OllamaChatModel;
import dev.langchain4j.model.ollama.OllamaEmbeddingModel;
import dev.langchain4j.model.ollama.OllamaStreamingChatModel;
import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import io.github.ollama4j.Ollama;
import io.github.ollama4j.models.chat.OllamaChatMessageRole;
import io.github.ollama4j.models.chat.OllamaChatRequest;
import io.github.ollama4j.models.chat.OllamaChatResult;
import io.github.ollama4j.models.chat.OllamaChatToolCalls;
import io.github.ollama4j.models.embed.OllamaEmbedRequest;
import io.github.ollama4j.models.embed.OllamaEmbedResult;
import io.github.ollama4j.models.generate.OllamaGenerateRequest;
import io.github.ollama4j.models.generate.OllamaGenerateStreamObserver;
import io.github.ollama4j.models.request.ThinkMode;
import io.github.ollama4j.models.response.Model;
import io.github.ollama4j.models.response.OllamaResult;
import io.github.ollama4j.tools.Tools;
import io.github.ollama4j.utils.OptionsBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Ollama-API clients ollama4j and LangChain4j's langchain4j-ollama against the server. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OllamaClientsTest {
    private static final String PROMPT = "Once upon a time";

    private static String expectedRaw(int n) {
        return Fixture.TINY.generate(PROMPT, GenerationOptions.builder().temperature(0).maxTokens(n).build()).text();
    }

    private static String expectedChat(String user, int n) {
        return Fixture.TINY.chat(List.of(ChatMessage.user(user)),
                GenerationOptions.builder().temperature(0).maxTokens(n).build()).text();
    }

    @Nested
    class Ollama4j {
        private final Ollama client = new Ollama(Fixture.base());

        @Test
        void listsTheConfiguredModelsAndTheVersion() throws Exception {
            assertThat(client.ping()).isTrue();
            assertThat(client.getVersion()).isEqualTo(OllamaApi.API_VERSION);
            assertThat(client.listModels()).extracting(Model::getName).containsExactly("tiny", "tiny-embed", "fake");
        }

        @Test
        void streamsARawGenerationThatMatchesTheModel() throws Exception {
            List<String> pieces = new ArrayList<>();
            OllamaGenerateRequest req = OllamaGenerateRequest.builder().withModel("tiny").withPrompt(PROMPT)
                    .withRaw(true).withStreaming(true).withThink(ThinkMode.DISABLED)
                    .withOptions(new OptionsBuilder().setTemperature(0f).setNumPredict(12).build()).build();
            OllamaResult r = client.generate(req, new OllamaGenerateStreamObserver(null, pieces::add));
            assertThat(String.join("", pieces)).isEqualTo(r.getResponse()).isEqualTo(expectedRaw(12));
            assertThat(pieces).hasSizeGreaterThan(1);
            assertThat(r.isDone()).isTrue();
            assertThat(r.getEvalCount()).isBetween(1, 12);
        }

        @Test
        void chatsWithTheModelsTemplate() throws Exception {
            OllamaChatRequest req = OllamaChatRequest.builder().withModel("tiny")
                    .withMessage(OllamaChatMessageRole.USER, "Hello there")
                    .withOptions(new OptionsBuilder().setTemperature(0f).setNumPredict(10).build()).build();
            OllamaChatResult r = client.chat(req, null);
            assertThat(r.getResponseModel().getMessage().getResponse()).isEqualTo(expectedChat("Hello there", 10));
            assertThat(r.getResponseModel().isDone()).isTrue();
        }

        @Test
        void getsToolCallsAndSendsTheResultBack() throws Exception {
            List<Map<String, Object>> invoked = new ArrayList<>();
            Tools.Tool weather = Tools.Tool.builder()
                    .toolSpec(Tools.ToolSpec.builder().name("get_weather").description("Weather of a city")
                            .parameters(Tools.Parameters.of(Map.of("city", Tools.Property.builder().type("string")
                                    .description("the city").required(true).build()))).build())
                    .type("function").toolFunction(args -> {
                        invoked.add(args);
                        return "sunny";
                    }).build();
            client.registerTool(weather);
            OllamaChatRequest req = OllamaChatRequest.builder().withModel("fake")
                    .withMessage(OllamaChatMessageRole.USER, "What is the weather in Paris")
                    .withThinking(ThinkMode.DISABLED).withUseTools(true).build();
            OllamaChatResult r = client.chat(req, null);
            // the client ran the tool the server's answer asked for, then sent its result back for the final answer
            assertThat(invoked).hasSize(1);
            assertThat(invoked.get(0)).containsEntry("city", "Paris");
            List<OllamaChatToolCalls> calls = r.getChatHistory().stream()
                    .filter(m -> m.getToolCalls() != null && !m.getToolCalls().isEmpty())
                    .flatMap(m -> m.getToolCalls().stream()).toList();
            assertThat(calls).extracting(c -> c.getFunction().getName()).containsExactly("get_weather");
            assertThat(r.getChatHistory()).anyMatch(m -> m.getRole().getRoleName().equals("tool")
                    && m.getResponse().contains("sunny"));
            assertThat(r.getResponseModel().getMessage().getResponse()).isNotBlank();
        }

        @Test
        void embedsWithTheModelsVectors() throws Exception {
            OllamaEmbedResult r = client.embed(new OllamaEmbedRequest("tiny-embed", List.of("first text", "second")));
            List<float[]> expected = Fixture.TINY_EMBED.embed(List.of("first text", "second"));
            assertThat(r.getEmbeddings()).hasSize(2);
            for (int i = 0; i < 2; i++) {
                List<Double> got = r.getEmbeddings().get(i);
                assertThat(got).hasSize(expected.get(i).length);
                for (int j = 0; j < got.size(); j++) {
                    assertThat(got.get(j).floatValue()).isEqualTo(expected.get(i)[j]);
                }
            }
        }
    }

    @Nested
    class LangChain4jOllama {
        @Test
        void chatsAndStreams() throws Exception {
            OllamaChatModel chat = OllamaChatModel.builder().baseUrl(Fixture.base()).modelName("tiny")
                    .temperature(0.0).numPredict(10).timeout(Duration.ofSeconds(60)).build();
            ChatResponse blocking = chat.chat(ChatRequest.builder().messages(UserMessage.from("Hello there")).build());
            assertThat(blocking.aiMessage().text()).isEqualTo(expectedChat("Hello there", 10));
            assertThat(blocking.tokenUsage().outputTokenCount()).isBetween(1, 10);

            OllamaStreamingChatModel streaming = OllamaStreamingChatModel.builder().baseUrl(Fixture.base())
                    .modelName("tiny").temperature(0.0).numPredict(10).timeout(Duration.ofSeconds(60)).build();
            Streamed streamed = Streamed.chat(streaming,
                    ChatRequest.builder().messages(UserMessage.from("Hello there")).build());
            assertThat(streamed.text()).isEqualTo(streamed.response().aiMessage().text())
                    .isEqualTo(blocking.aiMessage().text());
        }

        @Test
        void getsToolCallsAndThinking() {
            OllamaChatModel chat = OllamaChatModel.builder().baseUrl(Fixture.base()).modelName("fake")
                    .think(true).returnThinking(true).timeout(Duration.ofSeconds(60)).build();
            ToolSpecification weather = ToolSpecification.builder().name("get_weather").description("Weather of a city")
                    .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();
            ChatResponse r = chat.chat(ChatRequest.builder().messages(UserMessage.from("What is the weather in Lyon"))
                    .toolSpecifications(weather).build());
            assertThat(r.aiMessage().toolExecutionRequests()).extracting(ToolExecutionRequest::name)
                    .containsExactly("get_weather");
            assertThat(r.aiMessage().toolExecutionRequests().get(0).arguments()).contains("\"city\"").contains("Lyon");

            ChatResponse thought = chat.chat(ChatRequest.builder().messages(UserMessage.from("Think about Paris")).build());
            assertThat(thought.aiMessage().thinking()).isNotBlank();
            assertThat(thought.aiMessage().text()).isNotBlank();
        }

        @Test
        void embeds() {
            OllamaEmbeddingModel model = OllamaEmbeddingModel.builder().baseUrl(Fixture.base()).modelName("tiny-embed")
                    .timeout(Duration.ofSeconds(60)).build();
            Embedding e = model.embed("some words").content();
            assertThat(e.vector()).containsExactly(Fixture.TINY_EMBED.embed("some words"));
        }
    }
}
