package io.github.locallm.ollama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.OpenOptions;
import io.github.locallm.StreamHandler;
import io.github.locallm.ThinkLevel;
import io.github.locallm.TokenLogprob;
import io.github.locallm.ToolCall;
import io.github.locallm.ToolSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The protocol fields of today's Ollama, on the wire against the fake server: tool call ids both ways, think
 * levels, logprobs (whole and streamed), embed truncate and dimensions, create, push, blobs, images on
 * generate.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OllamaProtocolTest {
    private static final ToolSpec WEATHER = new ToolSpec("get_weather", "Get the weather in a given city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"}},"
                    + "\"required\":[\"city\"]}");
    private FakeOllamaServer server;
    private OllamaClient client;

    @BeforeAll
    void start() throws Exception {
        server = new FakeOllamaServer();
        client = OllamaClient.builder().baseUrl(server.url()).build();
    }

    @AfterAll
    void stop() {
        server.close();
    }

    private LocalLlm open(String model, String... settings) {
        OpenOptions.Builder b = OpenOptions.builder().parameter("host", server.url());
        for (int i = 0; i + 1 < settings.length; i += 2) {
            b.parameter(settings[i], settings[i + 1]);
        }
        return LocalLlm.open("ollama:" + model, b.build());
    }

    @Test
    void toolCallIdsTravelEndToEnd() {
        try (LocalLlm llm = open("fake-llm")) {
            GenerationOptions o = GenerationOptions.builder().tool(WEATHER).build();
            List<ChatMessage> convo = new ArrayList<>(List.of(ChatMessage.user("What is the weather in Paris")));
            Completion c = llm.chat(convo, o);
            assertThat(c.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            ToolCall call = c.toolCalls().get(0);
            JsonNode sentCall = server.last("/api/chat").body();
            assertThat(call.id()).startsWith("call_").hasSizeGreaterThan(5);
            assertThat(call.name()).isEqualTo("get_weather");

            convo.add(ChatMessage.assistant(c.text(), c.toolCalls()));
            convo.add(ChatMessage.toolResult(call, "{\"temp\":21}"));
            llm.chat(convo, o);
            JsonNode messages = server.last("/api/chat").body().path("messages");
            JsonNode assistant = messages.get(1);
            assertThat(assistant.path("tool_calls").get(0).path("id").asText()).isEqualTo(call.id());
            JsonNode tool = messages.get(2);
            assertThat(tool.path("role").asText()).isEqualTo("tool");
            assertThat(tool.path("tool_call_id").asText()).isEqualTo(call.id());
            assertThat(tool.path("tool_name").asText()).isEqualTo("get_weather");
            assertThat(tool.path("content").asText()).isEqualTo("{\"temp\":21}");
            assertThat(sentCall.path("messages").get(0).has("tool_call_id")).isFalse();
        }
    }

    @Test
    void thinkLevelsGoAsOllamasStrings() {
        try (LocalLlm llm = open("fake-llm")) {
            for (ThinkLevel level : ThinkLevel.values()) {
                Completion c = llm.chat(List.of(ChatMessage.user("why")),
                        GenerationOptions.builder().think(level).maxTokens(5).build());
                JsonNode think = server.last("/api/chat").body().path("think");
                assertThat(think.isTextual()).isTrue();
                assertThat(think.asText()).isEqualTo(level.name().toLowerCase(java.util.Locale.ROOT));
                assertThat(c.thinking()).isEqualTo("Considering the question.");
            }
            llm.chat(List.of(ChatMessage.user("why")), GenerationOptions.builder().think(ThinkLevel.HIGH)
                    .think(false).maxTokens(3).build());
            JsonNode off = server.last("/api/chat").body().path("think");
            assertThat(off.isBoolean()).isTrue();
            assertThat(off.asBoolean()).isFalse();
            llm.generate("why", GenerationOptions.builder().backendOption("ollama", "think", "Medium").maxTokens(2).build());
            assertThat(server.last("/api/generate").body().path("think").asText()).isEqualTo("medium");
            assertThatThrownBy(() -> llm.generate("why", GenerationOptions.builder()
                    .backendOption("ollama", "think", "very\"high").build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ollama.think");
        }
    }

    @Test
    void logprobsArriveWholeAndStreamed() throws Exception {
        try (LocalLlm llm = open("fake-llm")) {
            GenerationOptions o = GenerationOptions.builder().temperature(0).maxTokens(6).topLogprobs(3).build();
            Completion c = llm.generate("Why is the sky blue?", o);
            JsonNode body = server.last("/api/generate").body();
            assertThat(body.path("logprobs").asBoolean()).isTrue();
            assertThat(body.path("top_logprobs").asInt()).isEqualTo(3);
            assertThat(c.logprobs()).hasSize(6);
            StringBuilder joined = new StringBuilder();
            for (TokenLogprob lp : c.logprobs()) {
                joined.append(lp.token());
                assertThat(lp.logprob()).isNegative();
                assertThat(new String(toBytes(lp.bytes()), StandardCharsets.UTF_8)).isEqualTo(lp.token());
                assertThat(lp.topLogprobs()).hasSize(3);
                assertThat(lp.topLogprobs().get(0).token()).isEqualTo(lp.token());
                assertThat(lp.topLogprobs().get(1).logprob()).isLessThan(lp.topLogprobs().get(0).logprob());
            }
            assertThat(joined.toString()).isEqualTo(c.text());

            List<TokenLogprob> streamed = new ArrayList<>();
            List<String> tokens = new ArrayList<>();
            CompletableFuture<Completion> done = new CompletableFuture<>();
            llm.stream("Why is the sky blue?", o, new StreamHandler() {
                @Override
                public void onToken(String text) {
                    tokens.add(text);
                }

                @Override
                public void onLogprobs(List<TokenLogprob> entries) {
                    assertThat(entries.get(0).token()).isEqualTo(tokens.get(tokens.size() - 1));
                    streamed.addAll(entries);
                }

                @Override
                public void onComplete(Completion completion) {
                    done.complete(completion);
                }

                @Override
                public void onError(Throwable error) {
                    done.completeExceptionally(error);
                }
            });
            Completion s = done.get(10, TimeUnit.SECONDS);
            assertThat(streamed).isEqualTo(s.logprobs()).isEqualTo(c.logprobs());

            Completion plain = llm.generate("Why is the sky blue?", GenerationOptions.builder().maxTokens(3).build());
            assertThat(server.last("/api/generate").body().has("logprobs")).isFalse();
            assertThat(plain.logprobs()).isEmpty();
        }
    }

    private static byte[] toBytes(List<Integer> ints) {
        byte[] b = new byte[ints.size()];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (int) ints.get(i);
        }
        return b;
    }

    @Test
    void malformedLogprobsAreAnErrorWhenAskedFor() {
        server.script("/api/generate", (ex, body) -> {
            java.io.OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, "{\"response\":\"a\",\"done\":false,\"logprobs\":[{\"token\":\"a\","
                    + "\"logprob\":-0.1,\"bytes\":[300]}]}");
            FakeOllamaServer.rawLine(out, "{\"response\":\"\",\"done\":true,\"done_reason\":\"stop\"}");
        });
        try (LocalLlm llm = open("fake-llm")) {
            assertThatThrownBy(() -> llm.generate("x", GenerationOptions.builder().logprobs(true).build()))
                    .isInstanceOf(io.github.locallm.http.MalformedResponseException.class)
                    .hasMessageContaining("[0, 255]");
            assertThat(llm.generate("x", GenerationOptions.defaults()).text()).isEqualTo("a");
        } finally {
            server.script("/api/generate", null);
        }
    }

    @Test
    void embedTruncateAndDimensions() {
        List<float[]> full = client.embed("fake-embed", List.of("one text"));
        assertThat(full.get(0)).hasSize(FakeOllamaServer.EMBED_DIM);
        assertThat(server.last("/api/embed").body().has("dimensions")).isFalse();
        assertThat(server.last("/api/embed").body().has("truncate")).isFalse();

        List<float[]> cut = client.embed("fake-embed", List.of("one text", "two texts"), true, 4);
        assertThat(cut).hasSize(2).allSatisfy(v -> assertThat(v).hasSize(4));
        assertThat(server.last("/api/embed").body().path("dimensions").asInt()).isEqualTo(4);
        assertThat(server.last("/api/embed").body().path("truncate").asBoolean()).isTrue();

        String tooLong = "word ".repeat(600);
        assertThatThrownBy(() -> client.embed("fake-embed", List.of(tooLong), false, null))
                .isInstanceOf(ContextOverflowException.class);
        assertThat(server.last("/api/embed").body().path("truncate").asBoolean()).isFalse();

        try (LocalLlm llm = open("fake-embed", "embed_dimensions", "3", "embed_truncate", "false")) {
            assertThat(llm.embed(List.of("a", "b"))).allSatisfy(v -> assertThat(v).hasSize(3));
            assertThat(server.last("/api/embed").body().path("dimensions").asInt()).isEqualTo(3);
            assertThat(server.last("/api/embed").body().path("truncate").asBoolean()).isFalse();
        }
        server.script("/api/embed", (ex, body) -> FakeOllamaServer.json(ex, 200,
                FakeOllamaServer.JSON.readTree("{\"embeddings\":[[0.1,0.2,0.3,0.4,0.5]]}")));
        try {
            assertThatThrownBy(() -> client.embed("fake-embed", List.of("x"), null, 4))
                    .isInstanceOf(LlmException.class).hasMessageContaining("5 dimensions").hasMessageContaining("4");
        } finally {
            server.script("/api/embed", null);
        }
    }

    @Test
    void createFromAnotherModelWithSystemAndParameters() {
        List<OllamaClient.PullProgress> seen = new ArrayList<>();
        client.create("pirate", ModelDefinition.builder().from("fake-llm").system("You are a pirate.")
                .parameter("temperature", 0.9).parameter("num_ctx", 8192).parameter("stop", List.of("<end>", "###"))
                .build(), seen::add);
        JsonNode body = server.last("/api/create").body();
        assertThat(body.path("model").asText()).isEqualTo("pirate");
        assertThat(body.path("from").asText()).isEqualTo("fake-llm");
        assertThat(body.path("system").asText()).isEqualTo("You are a pirate.");
        assertThat(body.path("parameters").path("temperature").asDouble()).isEqualTo(0.9);
        assertThat(body.path("parameters").path("num_ctx").isInt()).isTrue();
        assertThat(body.path("parameters").path("stop").get(1).asText()).isEqualTo("###");
        assertThat(body.path("stream").asBoolean()).isTrue();
        assertThat(seen).extracting(OllamaClient.PullProgress::status)
                .containsExactly("using existing layer sha256:1234", "creating new layer sha256:5678", "writing manifest",
                        "success");
        assertThat(client.exists("pirate")).isTrue();
        assertThatThrownBy(() -> client.create("x", ModelDefinition.builder().from("no-such-base").build(), p -> { }))
                .isInstanceOf(ModelNotFoundException.class);
    }

    @Test
    void createFromAGgufUploadsTheBlobOnce(@TempDir Path dir) throws Exception {
        Path gguf = dir.resolve("tiny.gguf");
        byte[] content = new byte[300_000];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 31);
        }
        System.arraycopy("GGUF".getBytes(StandardCharsets.US_ASCII), 0, content, 0, 4);
        Files.write(gguf, content);
        String digest = "sha256:" + HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(content));

        assertThat(client.blobExists(digest)).isFalse();
        List<String> statuses = new ArrayList<>();
        client.createFromGguf("tiny-local", gguf, ModelDefinition.builder().system("Be brief.").build(),
                p -> statuses.add(p.status()));
        assertThat(server.blobs.get(digest)).isEqualTo(content);
        FakeOllamaServer.Recorded upload = server.last("/api/blobs/" + digest);
        assertThat(upload.method()).isEqualTo("POST");
        assertThat(upload.body().path("bytes").asInt()).isEqualTo(content.length);
        JsonNode create = server.last("/api/create").body();
        assertThat(create.path("files").path("tiny.gguf").asText()).isEqualTo(digest);
        assertThat(create.has("from")).isFalse();
        assertThat(create.path("system").asText()).isEqualTo("Be brief.");
        assertThat(statuses).endsWith("success");
        assertThat(client.blobExists(digest)).isTrue();

        long uploads = server.requests.stream().filter(r -> r.method().equals("POST") && r.path().startsWith("/api/blobs/")).count();
        client.createFromGguf("tiny-local-2", gguf, null, p -> { });
        assertThat(server.requests.stream().filter(r -> r.method().equals("POST") && r.path().startsWith("/api/blobs/")).count())
                .as("a blob the server has is not uploaded again").isEqualTo(uploads);
        assertThat(client.exists("tiny-local-2")).isTrue();
    }

    @Test
    void pushBlobSendsTheFileAndItsDigest(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("adapter.bin");
        Files.writeString(file, "adapter weights");
        String digest = client.pushBlob(file);
        assertThat(digest).matches("sha256:[0-9a-f]{64}");
        assertThat(server.blobs.get(digest)).isEqualTo("adapter weights".getBytes(StandardCharsets.UTF_8));
        assertThat(server.last("/api/blobs/" + digest).header("Content-Type")).isEqualTo("application/octet-stream");
        assertThatThrownBy(() -> client.blobExists("md5:abc")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> client.pushBlob(dir.resolve("missing.bin"))).isInstanceOf(java.io.UncheckedIOException.class)
                .hasMessageContaining("missing.bin");
    }

    @Test
    void pushReportsProgressInOrder() {
        List<OllamaClient.PullProgress> seen = new ArrayList<>();
        client.push("fake-llm", false, seen::add);
        JsonNode body = server.last("/api/push").body();
        assertThat(body.path("model").asText()).isEqualTo("fake-llm");
        assertThat(body.path("stream").asBoolean()).isTrue();
        assertThat(body.has("insecure")).isFalse();
        assertThat(seen).extracting(OllamaClient.PullProgress::status)
                .containsExactly("retrieving manifest", "starting upload", "starting upload", "pushing manifest", "success");
        assertThat(seen.get(2).fraction()).isEqualTo(1.0);
        client.push("fake-llm", true, p -> { });
        assertThat(server.last("/api/push").body().path("insecure").asBoolean()).isTrue();
        assertThatThrownBy(() -> client.push("nobody/none", false, p -> { })).isInstanceOf(ModelNotFoundException.class);
    }

    @Test
    void imagesGoWithARawGenerate() {
        String png = Base64.getEncoder().encodeToString(new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        Completion c = client.generate("fake-llm", "[img] What is in this picture?", List.of(png),
                GenerationOptions.builder().backendOption("ollama", "raw", "true").maxTokens(4).temperature(0).build());
        JsonNode body = server.last("/api/generate").body();
        assertThat(body.path("images").get(0).asText()).isEqualTo(png);
        assertThat(body.path("raw").asBoolean()).isTrue();
        assertThat(body.path("prompt").asText()).isEqualTo("[img] What is in this picture?");
        assertThat(c.text()).isNotEmpty();
        assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(c.usage().completionTokens()).isEqualTo(4);
        assertThatThrownBy(() -> client.generate("fake-llm", "x", List.of("not base64!"), GenerationOptions.defaults()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void settingsAndNamesAreBoundedBeforeAnyRequest() {
        int before = server.requests.size();
        assertThatThrownBy(() -> LocalLlm.open("ollama:" + "m".repeat(1 << 20) + "?host=" + server.url()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("350");
        assertThatThrownBy(() -> open("bad\u0000name")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("U+0000");
        assertThatThrownBy(() -> open("fake-llm", "header.X-Key", "v\nInjected: 1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("header.X-Key")
                .hasMessageNotContaining("Injected");
        for (String framing : List.of("Host", "Content-Length", "Transfer-Encoding", "Accept-Encoding")) {
            assertThatThrownBy(() -> open("fake-llm", "header." + framing, "x"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sets itself");
        }
        assertThatThrownBy(() -> open("fake-llm", "keep_alive", "5m\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keep_alive");
        assertThatThrownBy(() -> open("fake-llm", "embed_dimensions", "0"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("embed_dimensions");
        assertThatThrownBy(() -> OpenOptions.builder().parameter("ollama\u0000key", "v"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GenerationOptions.builder().backendOption("ollama", "num\u0000batch", "1"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GenerationOptions.builder().stop("x".repeat(16 << 20)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stop sequence");
        assertThatThrownBy(() -> client.show("a".repeat(400))).isInstanceOf(IllegalArgumentException.class);
        Map<String, String> many = new java.util.HashMap<>();
        for (int i = 0; i < 40; i++) {
            many.put("header.X-" + i, "v");
        }
        OpenOptions.Builder b = OpenOptions.builder().parameter("host", server.url());
        many.forEach(b::parameter);
        assertThatThrownBy(() -> LocalLlm.open("ollama:fake-llm", b.build())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("header.*");
        assertThat(server.requests.size()).as("nothing was sent").isEqualTo(before);
    }
}
