package io.github.locallm.ollama;

import io.github.locallm.LocalLlm;

import static io.github.locallm.ollama.TestSupport.NEVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ResponseFormat;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Requests the backend sends and answers it reads, against a loopback server speaking Ollama's wire format. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OllamaWireTest {
    private static final String CHAT = "fake-llm";
    private static final ToolSpec WEATHER = new ToolSpec("get_weather", "Get the weather in a given city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}");

    private FakeOllamaServer server;

    @BeforeAll
    void start() throws Exception {
        server = new FakeOllamaServer();
    }

    @AfterAll
    void stop() {
        server.close();
    }

    @BeforeEach
    void reset() {
        server.requests.clear();
        server.loaded.clear();
    }

    private static String expected(String prompt, JsonNode options, int count) {
        return String.join("", FakeOllamaServer.tokens(prompt, options, count));
    }

    @Test
    void streamedGenerateSendsPromptAndReadsEveryChunk() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            GenerationOptions o = GenerationOptions.builder().maxTokens(5).temperature(0).build();
            BackendResult r = llm.generate(GenerationRequest.completion("Why is the sky blue?", o), sink, NEVER);

            JsonNode body = server.last("/api/generate").body();
            assertThat(body.path("model").asText()).isEqualTo(CHAT);
            assertThat(body.path("prompt").asText()).isEqualTo("Why is the sky blue?");
            assertThat(body.path("stream").asBoolean()).isTrue();
            assertThat(body.path("options").path("num_predict").asInt()).isEqualTo(5);
            assertThat(body.path("options").path("temperature").asDouble()).isEqualTo(0.0);

            assertThat(sink.pieces).hasSize(5);
            assertThat(sink.text.toString()).isEqualTo(expected("Why is the sky blue?", body.path("options"), 5));
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(r.completionTokens()).isEqualTo(5);
            assertThat(r.promptTokens()).isEqualTo("Why is the sky blue?".split("\\s+").length + 1);
            assertThat(r.backendTimings()).isPresent();
            assertThat(r.backendTimings().get().total().toNanos()).isGreaterThanOrEqualTo(2_000_000);
            assertThat(r.backendTimings().get().timeToFirstToken().toNanos()).isEqualTo(1_500_000);
            assertThat(r.backendTimings().get().tokensPerSecond()).isPositive();
        }
    }

    @Test
    void naturalEndIsStop() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            GenerationOptions o = GenerationOptions.builder().temperature(0).build();
            BackendResult r = llm.generate(GenerationRequest.completion("Hello", o), sink, NEVER);
            int natural = FakeOllamaServer.naturalLength("Hello");
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(sink.pieces).hasSize(natural);
            assertThat(r.completionTokens()).isEqualTo(natural);
        }
    }

    @Test
    void everyGenerationOptionIsMappedToOllamaNames() {
        try (LlmBackend llm = TestSupport.open(server, CHAT, "ctx", "8192", "threads", "4", "gpu_layers", "0",
                "keep_alive", "10m")) {
            GenerationOptions o = GenerationOptions.builder().maxTokens(7).temperature(0.3).topP(0.9).topK(20)
                    .minP(0.05).repeatPenalty(1.2).seed(42).stop("\n", "user:").build();
            llm.generate(GenerationRequest.completion("x", o), new TestSupport.Sink(), NEVER);
            JsonNode body = server.last("/api/generate").body();
            JsonNode opts = body.path("options");
            assertThat(opts.path("num_predict").asInt()).isEqualTo(7);
            assertThat(opts.path("temperature").asDouble()).isEqualTo(0.3);
            assertThat(opts.path("top_p").asDouble()).isEqualTo(0.9);
            assertThat(opts.path("top_k").asInt()).isEqualTo(20);
            assertThat(opts.path("min_p").asDouble()).isEqualTo(0.05);
            assertThat(opts.path("repeat_penalty").asDouble()).isEqualTo(1.2);
            assertThat(opts.path("seed").asLong()).isEqualTo(42);
            assertThat(opts.path("stop").get(0).asText()).isEqualTo("\n");
            assertThat(opts.path("stop").get(1).asText()).isEqualTo("user:");
            assertThat(opts.path("num_ctx").asInt()).isEqualTo(8192);
            assertThat(opts.path("num_thread").asInt()).isEqualTo(4);
            assertThat(opts.path("num_gpu").asInt()).isEqualTo(0);
            assertThat(body.path("keep_alive").asText()).isEqualTo("10m");
            assertThat(opts.size()).isEqualTo(11);
        }
    }

    @Test
    void unsetOptionsAreNotSent() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            llm.generate(GenerationRequest.completion("x", GenerationOptions.defaults()), new TestSupport.Sink(), NEVER);
            JsonNode body = server.last("/api/generate").body();
            assertThat(body.has("options")).isFalse();
            assertThat(body.has("keep_alive")).isFalse();
            assertThat(body.has("format")).isFalse();
            assertThat(body.has("think")).isFalse();
            assertThat(body.has("raw")).isFalse();
        }
    }

    @Test
    void streamedChatSendsMessagesWithRoles() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            List<ChatMessage> msgs = List.of(ChatMessage.system("You are terse."), ChatMessage.user("why is the sky blue?"),
                    ChatMessage.assistant("Rayleigh."), ChatMessage.user("and at sunset?"));
            GenerationOptions o = GenerationOptions.builder().temperature(0).build();
            BackendResult r = llm.generate(GenerationRequest.chat(msgs, o), sink, NEVER);
            JsonNode body = server.last("/api/chat").body();
            assertThat(body.path("messages")).hasSize(4);
            assertThat(body.path("messages").get(0).path("role").asText()).isEqualTo("system");
            assertThat(body.path("messages").get(0).path("content").asText()).isEqualTo("You are terse.");
            assertThat(body.path("messages").get(2).path("role").asText()).isEqualTo("assistant");
            assertThat(body.path("messages").get(3).path("content").asText()).isEqualTo("and at sunset?");
            assertThat(body.path("messages").get(1).has("images")).isFalse();
            String prompt = FakeOllamaServer.promptOf(body, true);
            assertThat(sink.text.toString())
                    .isEqualTo(expected(prompt, body.path("options"), FakeOllamaServer.naturalLength(prompt)));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.toolCalls()).isEmpty();
        }
    }

    @Test
    void systemPromptOfACompletionGoesInTheSystemField() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            GenerationOptions o = GenerationOptions.builder().backendOption("ollama", "system", "Be brief.")
                    .backendOption("ollama", "raw", "true").build();
            llm.generate(GenerationRequest.completion("[INST] hi [/INST]", o), new TestSupport.Sink(), NEVER);
            JsonNode body = server.last("/api/generate").body();
            assertThat(body.path("system").asText()).isEqualTo("Be brief.");
            assertThat(body.path("raw").asBoolean()).isTrue();
            assertThat(body.has("options")).isFalse();
        }
    }

    @Test
    void nonStreamedAnswerGivesTheSameText() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            GenerationOptions o = GenerationOptions.builder().temperature(0).maxTokens(6).build();
            TestSupport.Sink streamed = new TestSupport.Sink();
            llm.generate(GenerationRequest.completion("Same prompt", o), streamed, NEVER);
            TestSupport.Sink whole = new TestSupport.Sink();
            BackendResult r = llm.generate(GenerationRequest.completion("Same prompt",
                    o.toBuilder().backendOption("ollama", "stream", "false").build()), whole, NEVER);
            assertThat(server.last("/api/generate").body().path("stream").asBoolean()).isFalse();
            assertThat(whole.pieces).hasSize(1);
            assertThat(whole.text.toString()).isEqualTo(streamed.text.toString());
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(r.completionTokens()).isEqualTo(6);
        }
    }

    @Test
    void jsonModeAndSchemaAreSentAsFormat() throws Exception {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            llm.generate(GenerationRequest.completion("Respond using JSON",
                    GenerationOptions.builder().responseFormat(ResponseFormat.JSON).build()), sink, NEVER);
            assertThat(server.last("/api/generate").body().path("format").asText()).isEqualTo("json");
            assertThat(FakeOllamaServer.JSON.readTree(sink.text.toString()).isObject()).isTrue();

            String schema = "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\"}},\"required\":[\"age\"]}";
            llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("age?")),
                    GenerationOptions.builder().responseFormat(ResponseFormat.jsonSchema(schema)).build()),
                    new TestSupport.Sink(), NEVER);
            JsonNode format = server.last("/api/chat").body().path("format");
            assertThat(format.isObject()).isTrue();
            assertThat(format).isEqualTo(FakeOllamaServer.JSON.readTree(schema));
        }
    }

    @Test
    void thinkingIsKeptApartFromTheAnswer() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            GenerationOptions o = GenerationOptions.builder().think(true).temperature(0).maxTokens(4).build();
            llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("think first")), o), sink, NEVER);
            assertThat(server.last("/api/chat").body().path("think").asBoolean()).isTrue();
            assertThat(sink.thinking.toString()).isEqualTo("Considering the question.");
            assertThat(sink.text.toString()).doesNotContain("Considering").isNotEmpty();
            assertThat(sink.pieces).hasSize(4);

            TestSupport.Sink gen = new TestSupport.Sink();
            llm.generate(GenerationRequest.completion("think", o), gen, NEVER);
            assertThat(gen.thinking.toString()).isEqualTo("Considering the question.");
            assertThat(gen.text.toString()).doesNotContain("Considering");

            llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("hm")), GenerationOptions.builder()
                    .think(true).backendOption("ollama", "think", "high").build()), new TestSupport.Sink(), NEVER);
            assertThat(server.last("/api/chat").body().path("think").asText()).isEqualTo("high");

            llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("hm")),
                    GenerationOptions.builder().think(false).build()), new TestSupport.Sink(), NEVER);
            JsonNode think = server.last("/api/chat").body().path("think");
            assertThat(think.isBoolean()).isTrue();
            assertThat(think.asBoolean()).isFalse();
        }
    }

    @Test
    void thinkingOnAModelWithoutItIsUnsupported() {
        try (LlmBackend llm = TestSupport.open(server, "fake-plain")) {
            assertThatThrownBy(() -> llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("x")),
                    GenerationOptions.builder().think(true).build()), new TestSupport.Sink(), NEVER))
                    .isInstanceOf(UnsupportedCapabilityException.class)
                    .hasMessageContaining("does not support thinking")
                    .hasMessageContaining(server.url());
        }
    }

    @Test
    void toolsAreSentAndToolCallsComeBackAsJsonObjects() throws Exception {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            GenerationOptions o = GenerationOptions.builder().tool(WEATHER).build();
            BackendResult r = llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("What is the weather in Paris?")), o),
                    sink, NEVER);
            JsonNode tool = server.last("/api/chat").body().path("tools").get(0);
            assertThat(tool.path("type").asText()).isEqualTo("function");
            assertThat(tool.path("function").path("name").asText()).isEqualTo("get_weather");
            assertThat(tool.path("function").path("description").asText()).isEqualTo("Get the weather in a given city");
            assertThat(tool.path("function").path("parameters")).isEqualTo(FakeOllamaServer.JSON.readTree(WEATHER.parametersSchema()));

            assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(r.toolCalls()).hasSize(1);
            ToolCall call = r.toolCalls().get(0);
            assertThat(call.name()).isEqualTo("get_weather");
            JsonNode args = FakeOllamaServer.JSON.readTree(call.argumentsJson());
            assertThat(args.path("city").asText()).isEqualTo("Paris");
            assertThat(args.path("days").asInt()).isEqualTo(3);
            assertThat(sink.text.toString()).isEmpty();

            ChatMessage assistant = new ChatMessage(ChatMessage.Role.ASSISTANT, "", r.toolCalls(), List.of(), "");
            List<ChatMessage> history = List.of(ChatMessage.user("What is the weather in Paris?"), assistant,
                    ChatMessage.tool("get_weather", "11 degrees celsius"));
            TestSupport.Sink answer = new TestSupport.Sink();
            BackendResult r2 = llm.generate(GenerationRequest.chat(history, o), answer, NEVER);
            JsonNode msgs = server.last("/api/chat").body().path("messages");
            JsonNode sentCall = msgs.get(1).path("tool_calls").get(0).path("function");
            assertThat(sentCall.path("name").asText()).isEqualTo("get_weather");
            assertThat(sentCall.path("arguments").isObject()).isTrue();
            assertThat(sentCall.path("arguments").path("city").asText()).isEqualTo("Paris");
            assertThat(msgs.get(2).path("role").asText()).isEqualTo("tool");
            assertThat(msgs.get(2).path("tool_name").asText()).isEqualTo("get_weather");
            assertThat(msgs.get(2).path("content").asText()).isEqualTo("11 degrees celsius");
            assertThat(r2.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(answer.text.toString()).isNotEmpty();
        }
    }

    @Test
    void nonStreamedChatCarriesToolCallsAndThinkingInItsOnlyObject() throws Exception {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            GenerationOptions o = GenerationOptions.builder().tool(WEATHER).think(true)
                    .backendOption("ollama", "stream", "false").build();
            BackendResult r = llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("Weather in Oslo?")), o),
                    sink, NEVER);
            assertThat(server.last("/api/chat").body().path("stream").asBoolean()).isFalse();
            assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(FakeOllamaServer.JSON.readTree(r.toolCalls().get(0).argumentsJson()).path("city").asText())
                    .isEqualTo("Oslo");
            assertThat(sink.thinking.toString()).isEqualTo("Considering the question.");
            assertThat(sink.text.toString()).isEmpty();
        }
    }

    @Test
    void toolsOnAModelWithoutThemFailBeforeAnyRequest() {
        try (LocalLlm llm = LocalLlm.open("ollama:" + server.url() + "/fake-plain")) {
            int before = server.requests.size();
            assertThatThrownBy(() -> llm.chat(List.of(ChatMessage.user("weather?")),
                    GenerationOptions.builder().tool(WEATHER).build()))
                    .isInstanceOfSatisfying(UnsupportedCapabilityException.class,
                            e -> assertThat(e.capability()).contains(Capability.TOOLS));
            assertThat(server.requests).hasSize(before);
        }
    }

    @Test
    void imagesGoWithTheirMessage() {
        String png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
        ChatMessage withImage = new ChatMessage(ChatMessage.Role.USER, "what is in this image?", List.of(), List.of(png), "");
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            llm.generate(GenerationRequest.chat(List.of(withImage), GenerationOptions.defaults()), new TestSupport.Sink(), NEVER);
            JsonNode images = server.last("/api/chat").body().path("messages").get(0).path("images");
            assertThat(images).hasSize(1);
            assertThat(images.get(0).asText()).isEqualTo(png);
        }
        try (LocalLlm plain = LocalLlm.open("ollama:" + server.url() + "/fake-plain")) {
            assertThatThrownBy(() -> plain.chat(List.of(withImage), GenerationOptions.defaults()))
                    .isInstanceOfSatisfying(UnsupportedCapabilityException.class,
                            e -> assertThat(e.capability()).contains(Capability.VISION));
        }
    }

    @Test
    void backendOptionsReachOllama() {
        try (LlmBackend llm = TestSupport.open(server, CHAT, "keep_alive", "5m")) {
            GenerationOptions o = GenerationOptions.builder().maxTokens(3)
                    .backendOption("ollama", "num_batch", "512")
                    .backendOption("ollama", "presence_penalty", "1.5")
                    .backendOption("ollama", "penalize_newline", "true")
                    .backendOption("ollama", "options", "{\"mirostat\": 2, \"num_keep\": 5}")
                    .backendOption("ollama", "keep_alive", "0")
                    .backendOption("llamacpp", "ignored", "1")
                    .build();
            llm.generate(GenerationRequest.completion("x", o), new TestSupport.Sink(), NEVER);
            JsonNode body = server.last("/api/generate").body();
            JsonNode opts = body.path("options");
            assertThat(opts.path("num_batch").isInt()).isTrue();
            assertThat(opts.path("num_batch").asInt()).isEqualTo(512);
            assertThat(opts.path("presence_penalty").asDouble()).isEqualTo(1.5);
            assertThat(opts.path("penalize_newline").isBoolean()).isTrue();
            assertThat(opts.path("mirostat").asInt()).isEqualTo(2);
            assertThat(opts.path("num_keep").asInt()).isEqualTo(5);
            assertThat(opts.has("ignored")).isFalse();
            assertThat(opts.has("keep_alive")).isFalse();
            assertThat(body.path("keep_alive").isNumber()).isTrue();
            assertThat(body.path("keep_alive").asInt()).isZero();
        }
    }

    @Test
    void headersAndBearerTokenAreSentOnEveryCall() {
        try (LlmBackend llm = TestSupport.open(server, CHAT, "bearer_token", "s3cret", "header.X-Team", "blue")) {
            llm.generate(GenerationRequest.completion("x", GenerationOptions.builder().maxTokens(1).build()),
                    new TestSupport.Sink(), NEVER);
            for (String path : List.of("/api/show", "/api/generate")) {
                FakeOllamaServer.Recorded rec = server.last(path);
                assertThat(rec.header("Authorization")).isEqualTo("Bearer s3cret");
                assertThat(rec.header("X-Team")).isEqualTo("blue");
            }
        }
    }

    @Test
    void embeddingsComeBackInOrder() {
        try (LlmBackend llm = TestSupport.open(server, "fake-embed")) {
            List<float[]> v = llm.embed(List.of("first text", "second text", "first text"));
            JsonNode body = server.last("/api/embed").body();
            assertThat(body.path("model").asText()).isEqualTo("fake-embed");
            assertThat(body.path("input")).hasSize(3);
            assertThat(body.path("input").get(1).asText()).isEqualTo("second text");
            assertThat(v).hasSize(3);
            assertThat(v.get(0)).hasSize(FakeOllamaServer.EMBED_DIM);
            assertThat(v.get(0)).isEqualTo(v.get(2));
            assertThat(v.get(0)).isNotEqualTo(v.get(1));
            double norm = 0;
            for (float x : v.get(1)) {
                norm += x * x;
            }
            assertThat(norm).isBetween(0.999, 1.001);
            assertThat(llm.embed(List.of())).isEmpty();
            assertThat(llm.info().capabilities()).containsExactly(Capability.EMBEDDINGS);
        }
        try (LocalLlm chat = LocalLlm.open("ollama:" + server.url() + "/" + CHAT)) {
            int before = server.requests.size();
            assertThatThrownBy(() -> chat.embed(List.of("x")))
                    .isInstanceOfSatisfying(UnsupportedCapabilityException.class,
                            e -> assertThat(e.capability()).contains(Capability.EMBEDDINGS));
            assertThat(server.requests).hasSize(before);
        }
        OllamaClient client = OllamaClient.builder().baseUrl(server.url()).build();
        assertThatThrownBy(() -> client.embed(CHAT, List.of("x"))).isInstanceOf(UnsupportedCapabilityException.class)
                .hasMessageContaining("does not support embeddings");
    }

    @Test
    void fillInTheMiddleSendsTheSuffixToModelsThatInsert() {
        String coder = FakeOllamaServer.CODER_MODEL;
        server.models.put(coder, new FakeOllamaServer.Model(List.of("completion", "insert"), 4096, "fake"));
        try {
            fillInTheMiddle(coder);
        } finally {
            server.models.remove(coder);
        }
    }

    private void fillInTheMiddle(String coder) {
        try (LocalLlm llm = LocalLlm.open("ollama:" + coder + "?host=" + server.url())) {
            assertThat(llm.info().capabilities()).contains(Capability.FILL_IN_MIDDLE, Capability.COMPLETION);
            GenerationOptions fim = GenerationOptions.builder().maxTokens(6).suffix("return x;\n}").build();
            String filled = llm.generate("int f(int x) {", fim).text();
            JsonNode body = server.last("/api/generate").body();
            assertThat(body.path("prompt").asText()).isEqualTo("int f(int x) {");
            assertThat(body.path("suffix").asText()).isEqualTo("return x;\n}");
            String plain = llm.generate("int f(int x) {", GenerationOptions.builder().maxTokens(6).build()).text();
            assertThat(server.last("/api/generate").body().has("suffix")).isFalse();
            assertThat(filled).as("the fake's answer depends on the suffix it was sent").isNotEqualTo(plain);
            assertThatThrownBy(() -> llm.generate("p", fim.toBuilder().backendOption("ollama", "suffix", "other")
                    .build())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("suffix once");
        }
        try (LocalLlm llm = LocalLlm.open("ollama:" + CHAT + "?host=" + server.url())) {
            assertThat(llm.info().capabilities()).doesNotContain(Capability.FILL_IN_MIDDLE);
            int before = server.requests.size();
            assertThatThrownBy(() -> llm.generate("p", GenerationOptions.builder().suffix("s").build()))
                    .isInstanceOfSatisfying(UnsupportedCapabilityException.class,
                            e -> assertThat(e.capability()).contains(Capability.FILL_IN_MIDDLE))
                    .hasMessageContaining(CHAT).hasMessageContaining("fill-in-the-middle tokens");
            assertThat(server.requests).as("refused before any request").hasSize(before);
            // given as the raw backend option, the suffix reaches the server, whose refusal names the capability
            assertThatThrownBy(() -> llm.generate("p", GenerationOptions.builder().backendOption("ollama", "suffix",
                    "s").build())).isInstanceOfSatisfying(UnsupportedCapabilityException.class,
                            e -> assertThat(e.capability()).contains(Capability.FILL_IN_MIDDLE))
                    .hasMessageContaining("does not support insert");
        }
    }

    @Test
    void infoComesFromShowAndPs() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            assertThat(server.last("/api/show").body().path("model").asText()).isEqualTo(CHAT);
            assertThat(llm.info().backend()).isEqualTo("ollama");
            assertThat(llm.info().model()).isEqualTo(CHAT);
            assertThat(llm.info().capabilities()).contains(Capability.COMPLETION, Capability.CHAT, Capability.TOOLS,
                    Capability.THINKING, Capability.VISION, Capability.JSON_MODE, Capability.JSON_SCHEMA, Capability.SEED)
                    .doesNotContain(Capability.TOKENIZE, Capability.EMBEDDINGS);
            assertThat(llm.info().contextLength()).isEqualTo(4096);
            assertThat(llm.info().details()).containsEntry("family", "fake").containsEntry("quantization_level", "Q4_K_M")
                    .containsEntry("trained_context_length", "32768").containsEntry("context_length_source", "default")
                    .containsEntry("server", server.url());
            assertThatThrownBy(() -> llm.tokenize("x")).isInstanceOf(UnsupportedCapabilityException.class);
            llm.generate(GenerationRequest.completion("load it", GenerationOptions.builder().maxTokens(1).build()),
                    new TestSupport.Sink(), NEVER);
        }
        try (LlmBackend loaded = TestSupport.open(server, CHAT)) {
            assertThat(loaded.info().details()).containsEntry("context_length_source", "running");
            assertThat(loaded.info().contextLength()).isEqualTo(4096);
        }
        try (LlmBackend plain = TestSupport.open(server, "fake-plain")) {
            assertThat(plain.info().contextLength()).isEqualTo(2048);
            assertThat(plain.info().capabilities()).doesNotContain(Capability.TOOLS, Capability.VISION, Capability.THINKING);
        }
        try (LlmBackend set = TestSupport.open(server, "fake-plain", "ctx", "1000")) {
            assertThat(set.info().contextLength()).isEqualTo(1000);
        }
    }

    @Test
    void stopSequencesEndTheTextBeforeTheMatch() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            String prompt = "Tell me a story";
            GenerationOptions base = GenerationOptions.builder().temperature(0).build();
            TestSupport.Sink full = new TestSupport.Sink();
            llm.generate(GenerationRequest.completion(prompt, base), full, NEVER);
            String stop = full.pieces.get(4).substring(0, 3);
            int at = full.text.indexOf(stop);
            TestSupport.Sink cut = new TestSupport.Sink();
            BackendResult r = llm.generate(GenerationRequest.completion(prompt, base.toBuilder().stop(stop).build()), cut, NEVER);
            assertThat(cut.text.toString()).isEqualTo(full.text.substring(0, at)).doesNotContain(stop);
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        }
    }

    @Test
    void sameSeedSameText() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            GenerationOptions s42 = GenerationOptions.builder().temperature(1.0).seed(42).maxTokens(8).build();
            TestSupport.Sink a = new TestSupport.Sink();
            TestSupport.Sink b = new TestSupport.Sink();
            TestSupport.Sink c = new TestSupport.Sink();
            llm.generate(GenerationRequest.completion("seeded", s42), a, NEVER);
            llm.generate(GenerationRequest.completion("seeded", s42), b, NEVER);
            llm.generate(GenerationRequest.completion("seeded", s42.toBuilder().seed(43).build()), c, NEVER);
            assertThat(a.text.toString()).isEqualTo(b.text.toString()).isNotEqualTo(c.text.toString());
        }
    }

    @Test
    void unknownFieldsAndMissingOptionalFieldsAreAccepted() {
        server.script("/api/chat", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Hel\","
                    + "\"future_field\":[1,2]},\"done\":false,\"remote_host\":\"x\",\"logprobs\":[{\"token\":\"Hel\"}]}");
            FakeOllamaServer.rawLine(out, "");
            FakeOllamaServer.rawLine(out, "{\"message\":{\"content\":\"lo\"},\"done\":false}");
            FakeOllamaServer.rawLine(out, "{\"done\":true,\"something_new\":{\"a\":1}}");
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            BackendResult r = llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("hi")),
                    GenerationOptions.defaults()), sink, NEVER);
            assertThat(sink.text.toString()).isEqualTo("Hello");
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.completionTokens()).isEqualTo(2);
            assertThat(r.promptTokens()).isZero();
            assertThat(r.backendTimings()).isEmpty();
        } finally {
            server.script("/api/chat", null);
        }
    }

    @Test
    void oneModelServesManyThreadsOverPooledConnections() throws Exception {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            server.requests.clear();
            ExecutorService pool = Executors.newFixedThreadPool(6);
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int i = 0; i < 36; i++) {
                    String prompt = "question number " + i;
                    results.add(pool.submit(() -> {
                        TestSupport.Sink sink = new TestSupport.Sink();
                        GenerationOptions o = GenerationOptions.builder().temperature(0).maxTokens(4).build();
                        llm.generate(GenerationRequest.completion(prompt, o), sink, NEVER);
                        return sink.text.toString().equals(String.join("",
                                FakeOllamaServer.tokens(prompt, FakeOllamaServer.obj().put("temperature", 0.0), 4)));
                    }));
                }
                for (Future<Boolean> f : results) {
                    assertThat(f.get(15, TimeUnit.SECONDS)).isTrue();
                }
            } finally {
                pool.shutdownNow();
            }
            Set<Integer> connections = new HashSet<>();
            server.requests.forEach(r -> connections.add(r.remotePort()));
            assertThat(server.requests).hasSize(36);
            assertThat(connections.size()).isLessThan(36).isLessThanOrEqualTo(12);
        }
    }
}
