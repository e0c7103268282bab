package io.github.locallm.llamacpp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.ChatSession;
import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Tool calling and JSON schemas on a tiny GGUF model (llama.cpp engine) whose metadata carries the real Qwen2.5 chat template
 * (read from {@code <locallm.shared.dir>/chat-templates}): with constrained decoding a random model writes
 * valid tool calls and schema-valid JSON, and a chat session runs the call, result, answer loop.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ToolCallingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String SCHEMA = "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", "
            + "\"maxLength\": 12}, \"unit\": {\"type\": \"string\", \"enum\": [\"celsius\", \"fahrenheit\"]}, "
            + "\"days\": {\"type\": \"integer\"}}, \"required\": [\"city\"]}";
    static final ToolSpec WEATHER = new ToolSpec("get_weather", "Get the current weather for a city", SCHEMA);
    static final ToolSpec TIME = new ToolSpec("get_time", "Get the time in a zone",
            "{\"type\": \"object\", \"properties\": {\"zone\": {\"type\": \"string\", \"maxLength\": 6}}, "
                    + "\"required\": [\"zone\"]}");

    private LocalLlm llm;

    @BeforeAll
    void open() throws IOException {
        Path dir = Files.createTempDirectory("llamacpp-tools-");
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

    /** Checks a value against {@link #SCHEMA} (or the time tool's schema), independently of the grammar. */
    static boolean valid(JsonNode v, String tool) {
        if (!v.isObject()) {
            return false;
        }
        Iterator<Map.Entry<String, JsonNode>> it = v.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode x = e.getValue();
            boolean ok = switch (tool + "." + e.getKey()) {
                case "get_weather.city" -> x.isTextual() && x.asText().codePointCount(0, x.asText().length()) <= 12;
                case "get_weather.unit" -> x.isTextual() && List.of("celsius", "fahrenheit").contains(x.asText());
                case "get_weather.days" -> x.isIntegralNumber();
                case "get_time.zone" -> x.isTextual() && x.asText().codePointCount(0, x.asText().length()) <= 6;
                default -> false;
            };
            if (!ok) {
                return false;
            }
        }
        return v.has(tool.equals("get_weather") ? "city" : "zone");
    }

    static GenerationOptions required(long seed) {
        return GenerationOptions.builder().tool(WEATHER).tool(TIME).temperature(1.0).seed(seed).maxTokens(160)
                .toolChoice(io.github.locallm.ToolChoice.REQUIRED).build();
    }

    @Test
    void reportsTheFamilyAndTheCapabilities() {
        assertThat(llm.info().details()).containsEntry("chat_format", "hermes");
        assertThat(llm.info().capabilities()).contains(Capability.TOOLS, Capability.JSON_MODE, Capability.JSON_SCHEMA)
                .as("Qwen2.5's template writes no reasoning markup").doesNotContain(Capability.THINKING);
    }

    @Test
    void requiredToolChoiceGivesAValidToolCallForEverySeed() throws IOException {
        for (long seed = 1; seed <= 6; seed++) {
            Completion c = llm.chat(List.of(ChatMessage.user("What's the weather in Paris?")), required(seed));
            assertThat(c.finishReason()).as("seed %d: %s", seed, c).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(c.toolCalls()).hasSize(1);
            ToolCall call = c.toolCalls().get(0);
            assertThat(call.name()).isIn("get_weather", "get_time");
            assertThat(call.id()).matches("[A-Za-z0-9]{9}");
            assertThat(valid(JSON.readTree(call.argumentsJson()), call.name())).as(call.argumentsJson()).isTrue();
            assertThat(c.text()).doesNotContain("<tool_call>");
        }
    }

    @Test
    void chatSessionRunsTheCallResultAnswerLoop() {
        try (ChatSession chat = llm.newChatSession("You are a weather bot.",
                GenerationOptions.builder().maxTokens(12).temperature(0).tool(WEATHER).build())) {
            Completion first = chat.send("What's the weather in Paris?", required(7));
            assertThat(first.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            ToolCall call = first.toolCalls().get(0);
            Completion answer = chat.sendToolResults(List.of(ChatMessage.toolResult(call, "{\"temperature\": 21}")));
            assertThat(answer.finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
            List<ChatMessage> h = chat.history();
            assertThat(h).extracting(ChatMessage::role).containsExactly(ChatMessage.Role.SYSTEM,
                    ChatMessage.Role.USER, ChatMessage.Role.ASSISTANT, ChatMessage.Role.TOOL, ChatMessage.Role.ASSISTANT);
            assertThat(h.get(2).toolCalls()).containsExactly(call);
            assertThat(h.get(3).toolCallId()).isEqualTo(call.id());
            assertThat(h.get(4).content()).isEqualTo(answer.text());
        }
    }

    @Test
    void jsonSchemaOutputAlwaysParsesAndValidates() throws IOException {
        for (long seed = 1; seed <= 20; seed++) {
            Completion c = llm.generate("The weather:", GenerationOptions.builder().temperature(1.0).seed(seed)
                    .maxTokens(200).responseFormat(ResponseFormat.jsonSchema(SCHEMA)).build());
            assertThat(c.finishReason()).as("seed %d: %s", seed, c.text()).isEqualTo(FinishReason.STOP);
            assertThat(valid(JSON.readTree(c.text()), "get_weather")).as("seed %d: %s", seed, c.text()).isTrue();
        }
    }

    @Test
    void jsonModeOutputIsJsonWhenItEnds() throws IOException {
        int ended = 0;
        for (long seed = 1; seed <= 6; seed++) {
            Completion c = llm.generate("Data:", GenerationOptions.builder().temperature(1.0).seed(seed).maxTokens(120)
                    .responseFormat(ResponseFormat.JSON).build());
            if (c.finishReason() == FinishReason.STOP) {
                ended++;
                assertThat(JSON.readTree(c.text())).as(c.text()).isNotNull();
            }
        }
        assertThat(ended).isPositive();
    }
}
