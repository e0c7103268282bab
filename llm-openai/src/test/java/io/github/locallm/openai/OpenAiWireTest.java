package io.github.locallm.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.Capability;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.OpenOptions;
import io.github.locallm.ResponseFormat;
import io.github.locallm.StreamHandler;
import io.github.locallm.ThinkLevel;
import io.github.locallm.TokenLogprob;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What goes over the wire and comes back, against the fake llama-server and vLLM: request fields for every
 * option, tool calls with ids end to end, streamed tool-call arguments, JSON schema, usage in streams,
 * reasoning text, log probabilities, embeddings, server detection and the model list.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OpenAiWireTest {
    private static final ToolSpec WEATHER = new ToolSpec("get_weather", "Current weather of a city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}");
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private FakeOpenAiServer server(FakeOpenAiServer.Flavour flavour) throws IOException {
        FakeOpenAiServer s = new FakeOpenAiServer(flavour);
        toClose.add(s);
        return s;
    }

    private LocalLlm open(FakeOpenAiServer s, String query) {
        LocalLlm llm = LocalLlm.open("openai:" + s.url() + "?model=" + FakeOpenAiServer.MODEL
                + (query.isEmpty() ? "" : "&" + query));
        toClose.add(llm);
        return llm;
    }

    @ParameterizedTest
    @EnumSource(FakeOpenAiServer.Flavour.class)
    void fillInTheMiddleIsRefusedBeforeAnyRequest(FakeOpenAiServer.Flavour flavour) throws Exception {
        FakeOpenAiServer s = server(flavour);
        LocalLlm llm = open(s, "");
        assertThat(llm.info().capabilities()).doesNotContain(Capability.FILL_IN_MIDDLE);
        int before = s.requests.size();
        assertThatThrownBy(() -> llm.generate("int f() {", GenerationOptions.builder().suffix("}").build()))
                .isInstanceOfSatisfying(io.github.locallm.UnsupportedCapabilityException.class,
                        e -> assertThat(e.capability()).contains(Capability.FILL_IN_MIDDLE))
                .hasMessageContaining("fill-in-the-middle tokens");
        assertThat(s.requests).as("no request reaches the server").hasSize(before);
    }

    @Test
    void llamaServerRequestCarriesEveryOptionUnderItsNames() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.LLAMA_SERVER);
        LocalLlm llm = open(s, "");
        GenerationOptions o = GenerationOptions.builder().maxTokens(7).temperature(0.5).topP(0.9).topK(20).minP(0.05)
                .repeatPenalty(1.1).seed(42).stop("zzz").backendOption("openai", "cache_prompt", "true")
                .backendOption("openai", "n_probs", "3").backendOption("openai", "samplers", "[\"top_k\",\"min_p\"]")
                .build();
        llm.chat(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi")), o);
        JsonNode b = s.last("/v1/chat/completions").body();
        assertThat(b.path("model").asText()).isEqualTo(FakeOpenAiServer.MODEL);
        assertThat(b.path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(b.path("messages").get(1).path("content").asText()).isEqualTo("Hi");
        assertThat(b.path("max_tokens").asInt()).isEqualTo(7);
        assertThat(b.path("temperature").asDouble()).isEqualTo(0.5);
        assertThat(b.path("top_p").asDouble()).isEqualTo(0.9);
        assertThat(b.path("top_k").asInt()).isEqualTo(20);
        assertThat(b.path("min_p").asDouble()).isEqualTo(0.05);
        assertThat(b.path("repeat_penalty").asDouble()).isEqualTo(1.1);
        assertThat(b.has("repetition_penalty")).isFalse();
        assertThat(b.path("seed").asLong()).isEqualTo(42);
        assertThat(b.path("stop").get(0).asText()).isEqualTo("zzz");
        assertThat(b.path("stream").asBoolean()).isTrue();
        assertThat(b.path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(b.path("cache_prompt").isBoolean()).as("a JSON value is sent as JSON").isTrue();
        assertThat(b.path("n_probs").asInt()).isEqualTo(3);
        assertThat(b.path("samplers").isArray()).isTrue();
        assertThat(s.last("/v1/chat/completions").header("Accept")).isEqualTo("text/event-stream");
    }

    @Test
    void vllmGetsItsRepetitionPenaltyAndThinkingSwitch() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.VLLM);
        LocalLlm llm = open(s, "");
        assertThat(llm.info().details()).containsEntry("server", "vllm").containsEntry("server_version", "0.8.5")
                .containsEntry("context_length_source", "server");
        assertThat(llm.info().contextLength()).isEqualTo(s.contextLength);
        GenerationOptions o = GenerationOptions.builder().maxTokens(3).repeatPenalty(1.2).think(false).build();
        llm.chat(List.of(ChatMessage.user("Hi")), o);
        JsonNode b = s.last("/v1/chat/completions").body();
        assertThat(b.path("repetition_penalty").asDouble()).isEqualTo(1.2);
        assertThat(b.has("repeat_penalty")).isFalse();
        assertThat(b.path("chat_template_kwargs").path("enable_thinking").asBoolean(true)).isFalse();
        llm.chat(List.of(ChatMessage.user("Hi")), o.toBuilder().think(ThinkLevel.HIGH).build());
        assertThat(s.last("/v1/chat/completions").body().path("reasoning_effort").asText()).isEqualTo("high");
    }

    @Test
    void plainServerGetsNoExtensionsAndIsDescribedHonestly() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.PLAIN);
        LocalLlm llm = open(s, "");
        assertThat(llm.info().details()).containsEntry("server", "generic")
                .containsEntry("context_length_source", "default (the server does not say; set ctx)");
        assertThat(llm.info().contextLength()).isEqualTo(OpenAiProvider.FALLBACK_CONTEXT);
        assertThat(llm.info().capabilities()).doesNotContain(Capability.TOKENIZE, Capability.THINKING)
                .contains(Capability.CHAT, Capability.COMPLETION, Capability.TOOLS, Capability.JSON_SCHEMA);
        Completion c = llm.generate("Once", GenerationOptions.builder().maxTokens(4).topK(5).build());
        assertThat(c.usage().completionTokens()).isEqualTo(4);
        assertThat(s.last("/v1/completions").body().path("top_k").asInt()).as("a generic server takes top_k")
                .isEqualTo(5);
        LocalLlm sized = open(s, "ctx=8192");
        assertThat(sized.info().contextLength()).isEqualTo(8192);
        assertThat(sized.info().details()).containsEntry("context_length_source", "setting");
    }

    @Test
    void ollamaAndLmStudioAreRecognizedByTheirOwnEndpoints() throws Exception {
        FakeOpenAiServer ollama = server(FakeOpenAiServer.Flavour.PLAIN);
        ollama.script("/api/version", (ex, body) -> FakeOpenAiServer.json(ex, 200,
                FakeOpenAiServer.obj().put("version", "0.12.6")));
        LocalLlm viaOllama = open(ollama, "");
        assertThat(viaOllama.info().details()).containsEntry("server", "ollama")
                .containsEntry("server_version", "0.12.6");
        viaOllama.chat(List.of(ChatMessage.user("Hi")), GenerationOptions.builder().maxTokens(2).topK(5)
                .repeatPenalty(1.3).build());
        JsonNode b = ollama.last("/v1/chat/completions").body();
        assertThat(b.has("top_k")).as("Ollama's /v1 takes no top_k").isFalse();
        assertThat(b.has("repeat_penalty") || b.has("repetition_penalty")).isFalse();

        FakeOpenAiServer lmstudio = server(FakeOpenAiServer.Flavour.PLAIN);
        lmstudio.script("/api/v0/models", (ex, body) -> FakeOpenAiServer.json(ex, 200, FakeOpenAiServer.JSON.readTree(
                "{\"object\":\"list\",\"data\":[{\"id\":\"" + FakeOpenAiServer.MODEL
                        + "\",\"type\":\"llm\",\"max_context_length\":8192}]}")));
        LocalLlm viaLmStudio = open(lmstudio, "");
        assertThat(viaLmStudio.info().details()).containsEntry("server", "lmstudio")
                .containsEntry("context_length_source", "server");
        assertThat(viaLmStudio.info().contextLength()).isEqualTo(8192);
        viaLmStudio.chat(List.of(ChatMessage.user("Hi")), GenerationOptions.builder().maxTokens(2)
                .responseFormat(ResponseFormat.JSON).build());
        assertThat(lmstudio.last("/v1/chat/completions").body().path("response_format").path("type").asText())
                .as("LM Studio takes only json_schema").isEqualTo("json_schema");
    }

    @Test
    void llamaServerIsDetectedWithItsContextAndTokenizer() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.LLAMA_SERVER);
        LocalLlm llm = open(s, "");
        assertThat(llm.info().details()).containsEntry("server", "llama-server").containsEntry("total_slots", "4")
                .containsEntry("build_info", "b6000-fake").containsEntry("n_ctx_train", "32768")
                .containsEntry("completions", "/v1/completions");
        assertThat(llm.info().contextLength()).isEqualTo(s.contextLength);
        assertThat(llm.info().supports(Capability.TOKENIZE)).isTrue();
        int[] ids = llm.tokenize("Hello brave world");
        assertThat(ids).hasSize(3);
        assertThat(llm.detokenize(ids)).isEqualTo("Hello brave world");
        assertThat(s.last("/tokenize").body().path("content").asText()).isEqualTo("Hello brave world");
        try (var session = llm.newChatSession()) {
            assertThat(session.countTokens(List.of(ChatMessage.user("a b c")))).as("template applied, then tokenized")
                    .isEqualTo(s.split(FakeOpenAiServer.render(s.last("/apply-template").body().path("messages")))
                            .size());
        }
    }

    @Test
    void imagesTravelAsDataUrlsWhenVisionIsOn() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.VLLM);
        ChatMessage withImage = new ChatMessage(ChatMessage.Role.USER, "What is this?", List.of(),
                List.of("iVBORw0KGgo="), "");
        LocalLlm plain = open(s, "");
        assertThatThrownBy(() -> plain.chat(List.of(withImage), GenerationOptions.defaults())).as("no vision unless said")
                .isInstanceOf(io.github.locallm.UnsupportedCapabilityException.class);
        LocalLlm llm = open(s, "vision=true");
        llm.chat(List.of(withImage), GenerationOptions.builder().maxTokens(2).build());
        JsonNode content = s.last("/v1/chat/completions").body().path("messages").get(0).path("content");
        assertThat(content.get(0).path("type").asText()).isEqualTo("text");
        assertThat(content.get(0).path("text").asText()).isEqualTo("What is this?");
        assertThat(content.get(1).path("type").asText()).isEqualTo("image_url");
        assertThat(content.get(1).path("image_url").path("url").asText())
                .isEqualTo("data:image/png;base64,iVBORw0KGgo=");
    }

    @Test
    void withoutAModelTheOnlyServedModelIsTakenAndAnUnknownOneIsNamed() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.VLLM);
        try (LocalLlm llm = LocalLlm.open("openai:" + s.url())) {
            assertThat(llm.info().model()).isEqualTo(FakeOpenAiServer.MODEL);
            assertThat(llm.generate("x", GenerationOptions.builder().maxTokens(2).build()).text()).isNotEmpty();
        }
        assertThatThrownBy(() -> LocalLlm.open("openai:" + s.url() + "?model=other/model"))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("other/model")
                .hasMessageContaining(FakeOpenAiServer.MODEL);
        try (LocalLlm byName = LocalLlm.open("openai:" + FakeOpenAiServer.MODEL,
                OpenOptions.builder().parameter("base_url", s.url()).build())) {
            assertThat(byName.info().model()).isEqualTo(FakeOpenAiServer.MODEL);
        }
    }

    @ParameterizedTest
    @EnumSource(value = FakeOpenAiServer.Flavour.class, names = {"LLAMA_SERVER", "VLLM"})
    void toolCallRoundTripKeepsIdsStreamedAndWhole(FakeOpenAiServer.Flavour flavour) throws Exception {
        FakeOpenAiServer s = server(flavour);
        LocalLlm llm = open(s, "");
        for (boolean stream : new boolean[] {true, false}) {
            GenerationOptions o = GenerationOptions.builder().tool(WEATHER).temperature(0.0)
                    .backendOption("openai", "stream", Boolean.toString(stream)).build();
            List<ChatMessage> conversation = new ArrayList<>(List.of(ChatMessage.user("What is the weather in Paris?")));
            Completion c = llm.chat(conversation, o);
            assertThat(c.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(c.rawFinishReason()).isEqualTo("tool_calls");
            assertThat(c.toolCalls()).hasSize(1);
            ToolCall call = c.toolCalls().get(0);
            assertThat(call.id()).startsWith("call_");
            assertThat(call.name()).isEqualTo("get_weather");
            assertThat(FakeOpenAiServer.JSON.readTree(call.argumentsJson()))
                    .isEqualTo(FakeOpenAiServer.JSON.readTree("{\"city\":\"Paris\",\"unit\":\"celsius\"}"));
            JsonNode sent = s.last("/v1/chat/completions").body();
            assertThat(sent.path("stream").asBoolean()).isEqualTo(stream);
            assertThat(sent.path("tools").get(0).path("type").asText()).isEqualTo("function");
            assertThat(sent.path("tools").get(0).path("function").path("name").asText()).isEqualTo("get_weather");
            assertThat(sent.path("tools").get(0).path("function").path("parameters").path("required").get(0).asText())
                    .isEqualTo("city");

            conversation.add(ChatMessage.assistant("", c.toolCalls()));
            conversation.add(ChatMessage.toolResult(call, "22 degrees"));
            Completion answer = llm.chat(conversation, o.toBuilder().maxTokens(8).build());
            assertThat(answer.text()).startsWith("The tool said: 22 degrees");
            JsonNode messages = s.last("/v1/chat/completions").body().path("messages");
            assertThat(messages.get(1).path("tool_calls").get(0).path("id").asText()).isEqualTo(call.id());
            assertThat(messages.get(1).path("tool_calls").get(0).path("function").path("arguments").isTextual())
                    .as("arguments travel as JSON text").isTrue();
            assertThat(messages.get(2).path("role").asText()).isEqualTo("tool");
            assertThat(messages.get(2).path("tool_call_id").asText()).isEqualTo(call.id());
        }
    }

    @Test
    void theToolChoiceTravelsAsTheApisField() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.VLLM);
        LocalLlm llm = open(s, "");
        assertThat(llm.info().capabilities()).contains(Capability.TOOL_CHOICE);
        List<ChatMessage> ask = List.of(ChatMessage.user("What is the weather in Paris?"));
        GenerationOptions o = GenerationOptions.builder().tool(WEATHER).temperature(0.0).build();
        llm.chat(ask, o);
        assertThat(s.last("/v1/chat/completions").body().has("tool_choice")).as("unset: the server's default").isFalse();
        llm.chat(ask, o.toBuilder().toolChoice(io.github.locallm.ToolChoice.REQUIRED).build());
        assertThat(s.last("/v1/chat/completions").body().path("tool_choice").asText()).isEqualTo("required");
        Completion c = llm.chat(ask, o.toBuilder().toolChoice(io.github.locallm.ToolChoice.function("get_weather"))
                .build());
        JsonNode named = s.last("/v1/chat/completions").body().path("tool_choice");
        assertThat(named.path("type").asText()).isEqualTo("function");
        assertThat(named.path("function").path("name").asText()).isEqualTo("get_weather");
        List<ChatMessage> afterResult = List.of(ask.get(0), ChatMessage.assistant("", c.toolCalls()),
                ChatMessage.toolResult(c.toolCalls().get(0), "22 degrees"));
        llm.chat(afterResult, o.toBuilder().toolChoice(io.github.locallm.ToolChoice.REQUIRED).maxTokens(8).build());
        assertThat(s.last("/v1/chat/completions").body().path("tool_choice").asText())
                .as("a required call answers the user's turn only").isEqualTo("auto");
        llm.chat(ask, o.toBuilder().toolChoice(io.github.locallm.ToolChoice.NONE).maxTokens(8).build());
        JsonNode none = s.last("/v1/chat/completions").body();
        assertThat(none.has("tools")).as("NONE offers no tools").isFalse();
        assertThat(none.has("tool_choice")).isFalse();
        assertThatThrownBy(() -> llm.chat(ask, o.toBuilder().backendOption("openai", "tool_choice", "\"required\"")
                .build())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("toolChoice(...)");
    }

    @Test
    void streamedToolCallFragmentsOfParallelCallsAreAssembled() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.VLLM);
        s.script("/v1/chat/completions", (ex, body) -> {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            var os = ex.getResponseBody();
            String head = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
                    + "[{\"index\":0,\"delta\":";
            String[] deltas = {
                "{\"role\":\"assistant\",\"content\":\"\"}",
                "{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}",
                "{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\":\"}}]}",
                "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\": \\\"Os\"}}]}",
                "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"lo\\\"}\"}}]}",
                "{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\" \\\"CET\\\"}\"}}]}",
            };
            for (String d : deltas) {
                FakeOpenAiServer.write(os, "data: " + head + d + ",\"finish_reason\":null}]}\n\n");
            }
            FakeOpenAiServer.write(os, "data: " + head + "{},\"finish_reason\":\"tool_calls\"}]}\n\n");
            FakeOpenAiServer.write(os, "data: [DONE]\n\n");
        });
        LocalLlm llm = open(s, "");
        Completion c = llm.chat(List.of(ChatMessage.user("weather and time")),
                GenerationOptions.builder().tool(WEATHER).build());
        assertThat(c.toolCalls()).extracting(ToolCall::id).containsExactly("call_a", "call_b");
        assertThat(c.toolCalls()).extracting(ToolCall::name).containsExactly("get_weather", "get_time");
        assertThat(c.toolCalls()).extracting(ToolCall::argumentsJson)
                .containsExactly("{\"city\":\"Oslo\"}", "{\"tz\":\"CET\"}");
        assertThat(c.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
    }

    @ParameterizedTest
    @EnumSource(value = FakeOpenAiServer.Flavour.class, names = {"LLAMA_SERVER", "VLLM"})
    void jsonSchemaAndJsonObjectAreSentAndTheOutputIsJson(FakeOpenAiServer.Flavour flavour) throws Exception {
        FakeOpenAiServer s = server(flavour);
        LocalLlm llm = open(s, "");
        String schema = "{\"type\":\"object\",\"properties\":{\"word\":{\"type\":\"string\"}}}";
        Completion c = llm.chat(List.of(ChatMessage.user("Give JSON")), GenerationOptions.builder()
                .responseFormat(ResponseFormat.jsonSchema(schema)).build());
        JsonNode rf = s.last("/v1/chat/completions").body().path("response_format");
        assertThat(rf.path("type").asText()).isEqualTo("json_schema");
        assertThat(rf.path("json_schema").path("schema")).isEqualTo(FakeOpenAiServer.JSON.readTree(schema));
        assertThat(rf.path("json_schema").path("name").asText()).isNotBlank();
        assertThat(FakeOpenAiServer.JSON.readTree(c.text()).path("word").isTextual()).isTrue();
        llm.generate("Give JSON", GenerationOptions.builder().responseFormat(ResponseFormat.JSON).build());
        assertThat(s.last("/v1/completions").body().path("response_format").path("type").asText())
                .isEqualTo("json_object");
    }

    @Test
    void usageComesFromTheStreamsUsageChunk() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.VLLM);
        LocalLlm llm = open(s, "");
        List<String> pieces = new CopyOnWriteArrayList<>();
        Completion c = llm.stream("Once upon", GenerationOptions.builder().maxTokens(5).build(), new Handler() {
            @Override
            public void onToken(String text) {
                pieces.add(text);
            }
        }).completion().get(30, TimeUnit.SECONDS);
        int prompt = s.split("Once upon").size();
        assertThat(c.usage().promptTokens()).isEqualTo(prompt);
        assertThat(c.usage().completionTokens()).isEqualTo(5);
        assertThat(String.join("", pieces)).isEqualTo(c.text());
        assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(c.rawFinishReason()).isEqualTo("length");

        // without the usage chunk, the pieces are counted
        LocalLlm noUsage = open(s, "stream_usage=false");
        Completion d = noUsage.generate("Once upon", GenerationOptions.builder().maxTokens(5).build());
        assertThat(s.last("/v1/completions").body().has("stream_options")).isFalse();
        assertThat(d.usage().completionTokens()).isEqualTo(5);
    }

    @Test
    void reasoningContentBecomesThinking() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.LLAMA_SERVER);
        LocalLlm llm = open(s, "");
        assertThat(llm.info().supports(Capability.THINKING)).isTrue();
        GenerationOptions o = GenerationOptions.builder().think(true).maxTokens(4).temperature(0.0).build();
        List<String> thinking = new CopyOnWriteArrayList<>();
        Completion streamed = llm.streamChat(List.of(ChatMessage.user("Why?")), o, new Handler() {
            @Override
            public void onToken(String text) {
            }

            @Override
            public void onThinking(String text) {
                thinking.add(text);
            }
        }).completion().get(30, TimeUnit.SECONDS);
        assertThat(streamed.thinking()).startsWith(" Let me think about");
        assertThat(String.join("", thinking)).isEqualTo(streamed.thinking());
        assertThat(streamed.text()).doesNotContain("think");
        assertThat(s.last("/v1/chat/completions").body().path("chat_template_kwargs").path("enable_thinking")
                .asBoolean()).isTrue();
        Completion whole = llm.chat(List.of(ChatMessage.user("Why?")),
                o.toBuilder().backendOption("openai", "stream", "false").build());
        assertThat(whole.thinking()).isEqualTo(streamed.thinking().strip());
        assertThat(whole.text()).isEqualTo(streamed.text());
    }

    @Test
    void vllmsReasoningFieldIsReadToo() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.VLLM);
        s.script("/v1/chat/completions", (ex, body) -> {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            var os = ex.getResponseBody();
            String head = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":";
            FakeOpenAiServer.write(os, head + "{\"reasoning\":\"first \"},\"finish_reason\":null}]}\n\n");
            FakeOpenAiServer.write(os, head + "{\"reasoning_content\":\"second\"},\"finish_reason\":null}]}\n\n");
            FakeOpenAiServer.write(os, head + "{\"content\":\"answer\"},\"finish_reason\":\"stop\"}]}\n\n");
            FakeOpenAiServer.write(os, "data: [DONE]\n\n");
        });
        Completion c = open(s, "").chat(List.of(ChatMessage.user("q")), GenerationOptions.defaults());
        assertThat(c.thinking()).isEqualTo("first second");
        assertThat(c.text()).isEqualTo("answer");
    }

    @Test
    void logprobsFillTheSharedRecord() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.LLAMA_SERVER);
        LocalLlm llm = open(s, "");
        GenerationOptions o = GenerationOptions.builder().maxTokens(4).temperature(0.0).topLogprobs(2).build();
        List<List<TokenLogprob>> streamed = new CopyOnWriteArrayList<>();
        List<String> order = new CopyOnWriteArrayList<>();
        Completion c = llm.streamChat(List.of(ChatMessage.user("Hi")), o, new Handler() {
            @Override
            public void onToken(String text) {
                order.add("token");
            }

            @Override
            public void onLogprobs(List<TokenLogprob> entries) {
                order.add("logprobs");
                streamed.add(entries);
            }
        }).completion().get(30, TimeUnit.SECONDS);
        JsonNode sent = s.last("/v1/chat/completions").body();
        assertThat(sent.path("logprobs").asBoolean()).isTrue();
        assertThat(sent.path("top_logprobs").asInt()).isEqualTo(2);
        assertThat(c.logprobs()).hasSize(4);
        StringBuilder joined = new StringBuilder();
        for (TokenLogprob e : c.logprobs()) {
            joined.append(e.token());
            assertThat(e.logprob()).isNegative();
            assertThat(new String(toBytes(e.bytes()), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(e.token());
            assertThat(e.topLogprobs()).hasSize(2);
            assertThat(e.topLogprobs().get(0).token()).isEqualTo(e.token());
        }
        assertThat(joined.toString()).isEqualTo(c.text());
        assertThat(order).as("each piece's log probabilities follow its token")
                .containsExactly("token", "logprobs", "token", "logprobs", "token", "logprobs", "token", "logprobs");
        assertThat(streamed.stream().mapToInt(List::size).sum()).isEqualTo(4);
    }

    /** A handler that ignores the end; the tests wait on the completion future. */
    abstract static class Handler implements StreamHandler {
        @Override
        public void onComplete(Completion completion) {
        }

        @Override
        public void onError(Throwable error) {
        }
    }

    private static byte[] toBytes(List<Integer> values) {
        byte[] b = new byte[values.size()];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (int) values.get(i);
        }
        return b;
    }

    @Test
    void completionLogprobsShapeIsRead() {
        JsonNode node = WireFormat.jsonOrText("{\"tokens\":[\" a\",\" b\"],\"token_logprobs\":[-0.5,-1.5],"
                + "\"top_logprobs\":[{\" a\":-0.5,\" c\":-2.0},{\" b\":-1.5}],\"text_offset\":[0,2]}");
        List<TokenLogprob> entries = WireFormat.logprobs(node);
        assertThat(entries).extracting(TokenLogprob::token).containsExactly(" a", " b");
        assertThat(entries.get(0).topLogprobs()).extracting(TokenLogprob::token).containsExactly(" a", " c");
        assertThat(entries.get(1).logprob()).isEqualTo(-1.5);
    }

    @ParameterizedTest
    @EnumSource(value = FakeOpenAiServer.Flavour.class, names = {"LLAMA_SERVER", "VLLM"})
    void embeddingsKeepTheOrderOfTheInputs(FakeOpenAiServer.Flavour flavour) throws Exception {
        FakeOpenAiServer s = server(flavour);
        LocalLlm llm = open(s, "");
        List<float[]> v = llm.embed(List.of("one", "two", "one"));
        assertThat(v).hasSize(3);
        assertThat(v.get(0)).hasSize(8).isEqualTo(v.get(2));
        assertThat(v.get(1)).isNotEqualTo(v.get(0));
        JsonNode sent = s.last("/v1/embeddings").body();
        assertThat(sent.path("input").size()).isEqualTo(3);
        assertThat(sent.path("encoding_format").asText()).isEqualTo("float");
        // a server may list the vectors in another order: the index decides
        s.script("/v1/embeddings", (ex, body) -> FakeOpenAiServer.json(ex, 200, FakeOpenAiServer.JSON.readTree(
                "{\"object\":\"list\",\"data\":[{\"index\":1,\"embedding\":[2.0]},{\"index\":0,\"embedding\":[1.0]}]}")));
        List<float[]> swapped = llm.embed(List.of("a", "b"));
        assertThat(swapped.get(0)).containsExactly(1.0f);
        assertThat(swapped.get(1)).containsExactly(2.0f);
    }

    @Test
    void aServerWithoutCompletionsGetsPromptsAsChatAndSaysSo() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.PLAIN);
        s.script("/v1/completions", (ex, body) -> {
            byte[] text = "404 page not found".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ex.sendResponseHeaders(404, text.length);
            ex.getResponseBody().write(text);
        });
        LocalLlm llm = open(s, "");
        assertThat(llm.info().details().get("completions")).startsWith("chat fallback (the server answered HTTP 404");
        Completion c = llm.generate("Once upon", GenerationOptions.builder().maxTokens(3).temperature(0.0).build());
        assertThat(c.text()).isNotEmpty();
        JsonNode messages = s.last("/v1/chat/completions").body().path("messages");
        assertThat(messages.size()).isEqualTo(1);
        assertThat(messages.get(0).path("content").asText()).isEqualTo("Once upon");
        llm.generate("again", GenerationOptions.builder().maxTokens(2).build());
        assertThat(s.count("/v1/completions")).as("asked once, when the model was opened").isEqualTo(1);
        LocalLlm chatOnly = open(s, "completions=false");
        assertThat(chatOnly.info().details().get("completions")).startsWith("chat fallback");
    }

    @Test
    void apiKeyIsSentAsBearerAndNeverShown() throws Exception {
        FakeOpenAiServer s = server(FakeOpenAiServer.Flavour.LLAMA_SERVER);
        String key = "sk-secret-123456";
        try (LocalLlm llm = LocalLlm.open("openai:" + s.url() + "?model=" + FakeOpenAiServer.MODEL,
                OpenOptions.builder().parameter("api_key", key).parameter("header.X-Team", "blue").build())) {
            llm.generate("x", GenerationOptions.builder().maxTokens(1).build());
            assertThat(s.last("/v1/completions").header("Authorization")).isEqualTo("Bearer " + key);
            assertThat(s.last("/v1/completions").header("X-Team")).isEqualTo("blue");
            assertThat(s.last("/v1/models").header("Authorization")).isEqualTo("Bearer " + key);
            assertThat(llm.toString()).doesNotContain(key);
            assertThat(llm.info().toString()).doesNotContain(key);
        }
        // from the environment, through the provider
        OpenAiProvider provider = new OpenAiProvider(name -> switch (name) {
            case "OPENAI_BASE_URL" -> s.url();
            case "OPENAI_API_KEY" -> "sk-env";
            default -> null;
        });
        io.github.locallm.spi.OpenRequest request = new io.github.locallm.spi.OpenRequest(
                io.github.locallm.ModelSpec.parse("openai:" + FakeOpenAiServer.MODEL), java.util.Map.of());
        try (var backend = provider.open(request)) {
            assertThat(backend.info().model()).isEqualTo(FakeOpenAiServer.MODEL);
            assertThat(s.last("/v1/models").header("Authorization")).isEqualTo("Bearer sk-env");
        }
        Settings settings = Settings.read(new io.github.locallm.spi.OpenRequest(
                io.github.locallm.ModelSpec.parse("openai:m"), java.util.Map.of("api_key", key, "base_url", s.url())),
                n -> null);
        assertThat(settings.toString()).doesNotContain(key);
        assertThat(Redaction.spec("openai:http://h/v1?model=m&api_key=" + key)).doesNotContain(key);
    }

    @Test
    void anExtraThatWouldReplaceAnOptionIsRefused() throws Exception {
        LocalLlm llm = open(server(FakeOpenAiServer.Flavour.VLLM), "");
        for (String key : List.of("temperature", "max_tokens", "model", "tools", "stop")) {
            assertThatThrownBy(() -> llm.chat(List.of(ChatMessage.user("hi")),
                    GenerationOptions.builder().backendOption("openai", key, "1").build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[" + key + "]")
                    .hasMessageContaining("GenerationOptions");
        }
    }

    @Test
    void settingsAreCheckedAndNamed() {
        assertThatThrownBy(() -> LocalLlm.open("openai:m"))
                .hasMessageContaining("base_url");
        assertThatThrownBy(() -> LocalLlm.open("openai:http://127.0.0.1:1/v1?model=m&colour=red"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("colour");
        assertThatThrownBy(() -> LocalLlm.open("openai:http://127.0.0.1:1/v1?model=m&idle_timeout=soon"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idle_timeout");
        assertThatThrownBy(() -> LocalLlm.open("openai:http://user:pw@127.0.0.1:1/v1?model=m"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("pw");
        assertThat(Settings.parseBase("http://h:8000").toString()).isEqualTo("http://h:8000/v1/");
        assertThat(Settings.parseBase("https://gw.example.com/team/v1").toString())
                .isEqualTo("https://gw.example.com/team/v1/");
        assertThat(new Endpoints.Endpoint(Settings.parseBase("http://h:8000/v1")).root().toString())
                .isEqualTo("http://h:8000/");
    }
}
