package io.github.locallm.springai;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.springai.autoconfigure.LocalLlmAutoConfiguration;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.ai.tool.annotation.ToolParam;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Spring AI's tool calling through ChatClient on an in-process GGUF model the test writes (random weights, the
 * published Qwen2.5 chat template): the model's first answer is a constrained call of the tool, Spring AI's
 * tool-calling advisor runs it, and the model's next answer ends the exchange.
 */
class ToolCallingTest {

    static Path gguf;

    /** The cities the tool knows; an enum keeps the constrained arguments short whatever the weights. */
    enum City { PARIS, LYON, NICE }

    /** The tool: records each call. */
    static final class WeatherTools {
        final List<City> cities = new CopyOnWriteArrayList<>();

        @Tool(description = "Current weather in a city")
        String weather(@ToolParam(description = "the city") City city) {
            cities.add(city);
            return "{\"temperature\": 21, \"sky\": \"clear\"}";
        }
    }

    @BeforeAll
    static void write() throws IOException {
        Path dir = Files.createTempDirectory("springai-tools-");
        dir.toFile().deleteOnExit();
        gguf = dir.resolve("qwen25-tools.gguf");
        String template = Files.readString(Path.of(System.getProperty("locallm.shared.dir"), "chat-templates",
                "Qwen-Qwen2.5-7B-Instruct.jinja"), StandardCharsets.UTF_8);
        GgufWriter.write(TinyModels.qwen2Bias().withChatTemplate(template), gguf, GgufWriter.Quantization.F32);
        gguf.toFile().deleteOnExit();
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(LocalLlmAutoConfiguration.class));

    @Test
    void chatClientCallsTheToolThenAnswersBlockingAndStreaming() {
        runner.withPropertyValues("locallm.chat.model=llamacpp:" + gguf, "locallm.chat.open.threads=1",
                        "locallm.chat.options.temperature=0.8", "locallm.chat.options.seed=11",
                        "locallm.chat.options.max-tokens=160", "locallm.chat.options.require-tool-call=true")
                .run(context -> {
                    ChatClient chat = ChatClient.create(context.getBean(ChatModel.class));
                    WeatherTools tools = new WeatherTools();

                    ChatResponse response = chat.prompt("What's the weather in Paris?").tools(tools).call()
                            .chatResponse();

                    assertThat(tools.cities).hasSize(1);
                    assertThat(response.hasToolCalls()).isFalse();
                    assertThat(response.getResult().getOutput().getText()).isNotNull();
                    assertThat(response.getResult().getMetadata().getFinishReason()).isIn("STOP", "LENGTH");

                    String streamed = chat.prompt("What's the weather in Lyon?").tools(tools).stream().content()
                            .collectList().block(Duration.ofSeconds(120)).stream().collect(Collectors.joining());
                    assertThat(tools.cities).hasSize(2);
                    assertThat(streamed).doesNotContain("<tool_call>");
                });
    }

    @Test
    void requireToolCallIsCoresRequiredToolChoiceWhateverTheBackend() {
        org.springframework.ai.chat.prompt.Prompt withTool = new org.springframework.ai.chat.prompt.Prompt(
                "What's the weather in Paris?", org.springframework.ai.model.tool.ToolCallingChatOptions.builder()
                .toolCallbacks(org.springframework.ai.support.ToolCallbacks.from(new WeatherTools())).build());
        org.springframework.ai.chat.prompt.Prompt withoutTool = new org.springframework.ai.chat.prompt.Prompt("Hi");

        for (String backend : List.of("llamacpp", "djl", "ollama", "openai")) {
            // the same typed option for every backend: core forces the call, or the backend refuses it
            assertThat(Mapping.options("m", backend, io.github.locallm.GenerationOptions.defaults(), withTool, true)
                    .toolChoice()).as(backend).contains(io.github.locallm.ToolChoice.REQUIRED);
            assertThat(Mapping.options("m", backend, io.github.locallm.GenerationOptions.defaults(), withTool, false)
                    .toolChoice()).as(backend).isEmpty();
            assertThat(Mapping.options("m", backend, io.github.locallm.GenerationOptions.defaults(), withoutTool, true)
                    .toolChoice()).as("no tools, no forced call on " + backend).isEmpty();
        }
    }
}
