package io.github.locallm.ollama;

import static io.github.locallm.ollama.TestSupport.NEVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.BackendUnavailableException;
import io.github.locallm.http.Limit;
import io.github.locallm.http.LimitExceededException;
import io.github.locallm.ChatMessage;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Every fault ends in a typed exception, within its time limit, never in a truncated success. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OllamaFaultsTest {
    private static final String CHAT = "fake-llm";
    private static final String DONE = "{\"model\":\"fake-llm\",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\"}";
    private FakeOllamaServer server;

    @BeforeAll
    void start() throws Exception {
        server = new FakeOllamaServer();
    }

    @AfterAll
    void stop() {
        server.close();
    }

    @AfterEach
    void clear() {
        server.script("/api/generate", null);
        server.script("/api/chat", null);
        server.script("/api/show", null);
        server.tokenDelayMillis = 1;
    }

    private static GenerationRequest prompt(String text) {
        return GenerationRequest.completion(text, GenerationOptions.defaults());
    }

    private static String piece(String text) {
        return "{\"model\":\"fake-llm\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"response\":\""
                + text + "\",\"done\":false}";
    }

    @Test
    void errorLineAfterStatus200Throws() {
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, piece("The"));
            FakeOllamaServer.rawLine(out, piece(" sky"));
            FakeOllamaServer.rawLine(out, "{\"error\":\"an error was encountered while running the model: out of memory\"}");
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            assertThatThrownBy(() -> llm.generate(prompt("x"), sink, NEVER))
                    .isInstanceOf(LlmException.class)
                    .hasMessageContaining("out of memory")
                    .hasMessageContaining(server.url())
                    .hasMessageContaining(CHAT);
            assertThat(sink.text.toString()).isEqualTo("The sky");
        }
    }

    @Test
    void answerEndingBeforeDoneThrows() {
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, piece("The"));
            FakeOllamaServer.rawLine(out, piece(" sky"));
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            assertThatThrownBy(() -> llm.generate(prompt("x"), new TestSupport.Sink(), NEVER))
                    .isInstanceOf(LlmException.class)
                    .hasMessageContaining("before the final \"done\" line")
                    .hasMessageContaining("2 line(s)");
        }
    }

    @Test
    void connectionResetMidStreamThrows() throws Exception {
        String show = RawHttpServer.json("{\"capabilities\":[\"completion\"],\"model_info\":{}}");
        String cut = RawHttpServer.chunkedStart(piece("The"), piece(" sky")) + "40\r\n{\"model\":\"fake" + RawHttpServer.RESET;
        try (RawHttpServer raw = new RawHttpServer(Map.of("/api/show", show, "/api/generate", cut, "/api/ps", show))) {
            try (LlmBackend llm = TestSupport.openSpec("ollama:" + CHAT, Map.of("host", raw.url()))) {
                TestSupport.Sink sink = new TestSupport.Sink();
                assertThatThrownBy(() -> llm.generate(prompt("x"), sink, NEVER))
                        .isInstanceOf(BackendUnavailableException.class)
                        .hasMessageContaining(raw.url())
                        .hasMessageContaining("before the answer was complete");
                assertThat(sink.text.toString()).isEqualTo("The sky");
            }
        }
    }

    @Test
    void lineThatIsNotJsonThrows() {
        server.script("/api/chat", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, "{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}");
            FakeOllamaServer.rawLine(out, "<html><body>502 Bad Gateway</body></html>");
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            assertThatThrownBy(() -> llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("x")),
                    GenerationOptions.defaults()), new TestSupport.Sink(), NEVER))
                    .isInstanceOf(LlmException.class)
                    .hasMessageContaining("not JSON")
                    .hasMessageContaining("502 Bad Gateway")
                    .hasMessageContaining(server.url());
        }
    }

    @Test
    void lineWithTrailingGarbageIsNotJson() {
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, piece("a") + " trailing");
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            assertThatThrownBy(() -> llm.generate(prompt("x"), new TestSupport.Sink(), NEVER))
                    .isInstanceOf(LlmException.class).hasMessageContaining("not JSON");
        }
    }

    @Test
    void unknownModelAtOpenSuggestsPulling() {
        assertThatThrownBy(() -> TestSupport.open(server, "no-such-model:7b"))
                .isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("ollama pull no-such-model:7b")
                .hasMessageContaining("model 'no-such-model:7b' not found");
    }

    @Test
    void modelRemovedAfterOpenGives404AtGenerate() {
        server.models.put("short-lived:latest", server.models.get(FakeOllamaServer.PLAIN_MODEL));
        try (LlmBackend llm = TestSupport.open(server, "short-lived")) {
            server.models.remove("short-lived:latest");
            assertThatThrownBy(() -> llm.generate(prompt("x"), new TestSupport.Sink(), NEVER))
                    .isInstanceOf(ModelNotFoundException.class)
                    .hasMessageContaining("ollama pull short-lived");
        }
    }

    @Test
    void serverDownNamesTheUrl() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port;
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> TestSupport.openSpec("ollama://127.0.0.1:" + port + "/llama3.2", Map.of()))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining(url)
                .hasMessageContaining("ollama serve")
                .hasMessageContaining("llama3.2");
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(10);
    }

    @Test
    void pathThatIsNotOllamaIsReported() {
        assertThatThrownBy(() -> TestSupport.openSpec("ollama:" + CHAT, Map.of("host", server.url() + "/not-ollama")))
                .isInstanceOf(BackendUnavailableException.class)
                .hasMessageContaining("404")
                .hasMessageContaining("Ollama server");
    }

    @Test
    void proxyErrorPageIsReportedWithItsStatus() {
        server.script("/api/generate", (ex, body) -> {
            byte[] html = "<html>upstream down</html>".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(502, html.length);
            ex.getResponseBody().write(html);
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            assertThatThrownBy(() -> llm.generate(prompt("x"), new TestSupport.Sink(), NEVER))
                    .isInstanceOf(LlmException.class)
                    .hasMessageContaining("HTTP 502")
                    .hasMessageContaining("upstream down");
        }
    }

    @Test
    void refusedCredentialsSayWhatToCheck() {
        server.script("/api/show", (ex, body) -> FakeOllamaServer.json(ex, 401, FakeOllamaServer.obj().put("error", "unauthorized")));
        assertThatThrownBy(() -> TestSupport.open(server, CHAT))
                .isInstanceOf(LlmException.class)
                .hasMessageContaining("401")
                .hasMessageContaining("bearer_token");
    }

    @Test
    void modelLoadFailureIsReportedWithTheServersMessage() {
        server.script("/api/chat", (ex, body) -> FakeOllamaServer.json(ex, 500, FakeOllamaServer.obj()
                .put("error", "llama runner process has terminated: signal: killed")));
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            assertThatThrownBy(() -> llm.generate(GenerationRequest.chat(List.of(ChatMessage.user("x")),
                    GenerationOptions.defaults()), new TestSupport.Sink(), NEVER))
                    .isInstanceOf(LlmException.class)
                    .hasMessageContaining("HTTP 500")
                    .hasMessageContaining("llama runner process has terminated")
                    .hasMessageContaining(CHAT);
        }
    }

    @Test
    void slowFirstTokenHitsTheFirstTokenLimit() {
        CountDownLatch release = new CountDownLatch(1);
        server.script("/api/generate", (ex, body) -> {
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT, "first_token_timeout", "300ms", "idle_timeout", "10s")) {
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> llm.generate(prompt("x"), new TestSupport.Sink(), NEVER))
                    .isInstanceOfSatisfying(LimitExceededException.class, e -> assertThat(e.limit()).isEqualTo(Limit.FIRST_BYTE))
                    .hasMessageContaining("first-token limit of 300 ms")
                    .hasMessageContaining("first_token_timeout");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(250L, 4000L);
        } finally {
            release.countDown();
        }
    }

    @Test
    void stalledStreamHitsTheIdleLimit() {
        CountDownLatch release = new CountDownLatch(1);
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, piece("The"));
            FakeOllamaServer.rawLine(out, piece(" sky"));
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT, "first_token_timeout", "10s", "idle_timeout", "300ms")) {
            TestSupport.Sink sink = new TestSupport.Sink();
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> llm.generate(prompt("x"), sink, NEVER))
                    .isInstanceOfSatisfying(LimitExceededException.class, e -> assertThat(e.limit()).isEqualTo(Limit.IDLE))
                    .hasMessageContaining("idle limit of 300 ms");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(250L, 4000L);
            assertThat(sink.text.toString()).isEqualTo("The sky");
        } finally {
            release.countDown();
        }
    }

    @Test
    void endlessStreamHitsTheWholeRequestLimit() {
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            for (int i = 0; i < 100; i++) {
                FakeOllamaServer.rawLine(out, piece("x"));
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            FakeOllamaServer.rawLine(out, DONE);
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT, "idle_timeout", "5s", "request_timeout", "600ms")) {
            TestSupport.Sink sink = new TestSupport.Sink();
            assertThatThrownBy(() -> llm.generate(prompt("x"), sink, NEVER))
                    .isInstanceOfSatisfying(LimitExceededException.class, e -> assertThat(e.limit()).isEqualTo(Limit.REQUEST))
                    .hasMessageContaining("whole-request limit of 600 ms");
            assertThat(sink.pieces.size()).isBetween(2, 60);
        }
    }

    @Test
    void nonStreamedAnswerIsNotCutByTheFirstTokenLimit() {
        server.tokenDelayMillis = 0;
        server.script("/api/generate", (ex, body) -> {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            FakeOllamaServer.json(ex, 200, FakeOllamaServer.JSON.readTree(
                    "{\"response\":\"slow but whole\",\"done\":true,\"done_reason\":\"stop\",\"eval_count\":3}"));
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT, "first_token_timeout", "200ms")) {
            TestSupport.Sink sink = new TestSupport.Sink();
            BackendResult r = llm.generate(GenerationRequest.completion("x", GenerationOptions.builder()
                    .backendOption("ollama", "stream", "false").build()), sink, NEVER);
            assertThat(sink.text.toString()).isEqualTo("slow but whole");
            assertThat(r.completionTokens()).isEqualTo(3);
        }
    }

    @Test
    void cancelClosesTheCallAndTheServerStops() throws Exception {
        server.tokenDelayMillis = 80;
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            int disconnectsBefore = server.disconnects.get();
            TestSupport.Cancel cancel = new TestSupport.Cancel();
            CountDownLatch first = new CountDownLatch(1);
            TestSupport.Sink sink = new TestSupport.Sink() {
                @Override
                public void token(String t) {
                    super.token(t);
                    first.countDown();
                }
            };
            CompletableFuture<BackendResult> f = CompletableFuture.supplyAsync(
                    () -> llm.generate(prompt("a long story please"), sink, cancel));
            assertThat(first.await(5, TimeUnit.SECONDS)).isTrue();
            cancel.cancel();
            BackendResult r = f.get(2, TimeUnit.SECONDS);
            assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(r.completionTokens()).isEqualTo(sink.pieces.size());
            assertThat(sink.pieces.size()).isLessThan(FakeOllamaServer.naturalLength("a long story please"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (server.disconnects.get() == disconnectsBefore && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(server.disconnects.get()).isGreaterThan(disconnectsBefore);

            TestSupport.Sink next = new TestSupport.Sink();
            server.tokenDelayMillis = 1;
            BackendResult again = llm.generate(GenerationRequest.completion("next", GenerationOptions.builder().maxTokens(2).build()),
                    next, NEVER);
            assertThat(again.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(next.pieces).hasSize(2);
        }
    }

    @Test
    void cancelledBeforeTheCallSendsNothing() {
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Cancel cancel = new TestSupport.Cancel();
            cancel.cancel();
            int before = server.requests.size();
            BackendResult r = llm.generate(prompt("x"), new TestSupport.Sink(), cancel);
            assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(server.requests).hasSize(before);
        }
    }

    @Test
    void failingSinkStopsTheServer() throws Exception {
        server.tokenDelayMillis = 40;
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            int before = server.disconnects.get();
            TestSupport.Sink sink = new TestSupport.Sink() {
                @Override
                public void token(String t) {
                    throw new IllegalStateException("consumer gave up");
                }
            };
            assertThatThrownBy(() -> llm.generate(prompt("a long story please"), sink, NEVER))
                    .isInstanceOf(IllegalStateException.class).hasMessage("consumer gave up");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (server.disconnects.get() == before && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(server.disconnects.get()).isGreaterThan(before);
        }
    }

    @Test
    void closedModelRefusesCalls() {
        LlmBackend llm = TestSupport.open(server, CHAT);
        llm.close();
        assertThatThrownBy(() -> llm.generate(prompt("x"), new TestSupport.Sink(), NEVER))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining(CHAT);
    }
}
