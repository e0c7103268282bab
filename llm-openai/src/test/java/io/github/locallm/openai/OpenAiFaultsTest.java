package io.github.locallm.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.github.locallm.BackendUnavailableException;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LlmException;
import io.github.locallm.LocalLlm;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.StreamHandler;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.http.Limit;
import io.github.locallm.http.LimitExceededException;
import io.github.locallm.http.MalformedResponseException;
import io.github.locallm.http.RedirectRefusedException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile and broken servers: every call ends in bounded time with a typed exception that says what
 * failed, or with the bounded result. Run in a JVM with a small heap (see the module's pom), so that a
 * client that buffered a huge line or a decompressed bomb would fail with an OutOfMemoryError.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class OpenAiFaultsTest {
    /** Every fault must end well within this; the limits set below are a fraction of it. */
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final GenerationOptions SHORT = GenerationOptions.builder().maxTokens(10).build();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private RawServer raw(RawServer.Handler handler) throws IOException {
        RawServer s = new RawServer(handler);
        toClose.add(s);
        return s;
    }

    private LocalLlm open(String url, String query) {
        LocalLlm llm = LocalLlm.open("openai:" + url + "?model=m" + (query.isEmpty() ? "" : "&" + query));
        toClose.add(llm);
        return llm;
    }

    /** Runs a call, blocking and streamed, and returns what each threw, checking both ended in bounded time. */
    private static List<Throwable> bothForms(LocalLlm llm, GenerationOptions o) throws Exception {
        List<Throwable> out = new ArrayList<>();
        long start = System.nanoTime();
        out.add(catchThrowable(() -> llm.chat(List.of(ChatMessage.user("hi")), o)));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("blocking call").isLessThan(BOUND);
        start = System.nanoTime();
        try {
            llm.streamChat(List.of(ChatMessage.user("hi")), o, new Quiet()).completion()
                    .get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
            out.add(null);
        } catch (ExecutionException e) {
            out.add(e.getCause());
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("stream").isLessThan(BOUND);
        return out;
    }

    private static void assertLimit(Throwable t, Limit limit) {
        assertThat(t).isInstanceOf(LimitExceededException.class);
        assertThat(((LimitExceededException) t).limit()).isEqualTo(limit);
        assertThat(t.getMessage()).contains("127.0.0.1").contains(limit.setting());
    }

    /** A handler that records nothing; the tests read the completion future. */
    static class Quiet implements StreamHandler {
        @Override
        public void onToken(String text) {
        }

        @Override
        public void onComplete(Completion completion) {
        }

        @Override
        public void onError(Throwable error) {
        }
    }

    // ------------------------------------------------------------------ time

    @Test
    void aServerThatNeverAnswersHitsTheFirstTokenLimit() throws Exception {
        RawServer s = raw((r, out) -> Thread.sleep(Long.MAX_VALUE));
        LocalLlm llm = open(s.url(), "first_token_timeout=500ms");
        for (Throwable t : bothForms(llm, SHORT)) {
            assertLimit(t, Limit.FIRST_BYTE);
        }
    }

    @Test
    void aServerThatOnlySendsKeepAlivesHitsTheFirstTokenLimit() throws Exception {
        RawServer s = raw((r, out) -> {
            RawServer.write(out, RawServer.SSE_HEAD);
            while (true) {
                RawServer.write(out, ": keep-alive\n\n");
                Thread.sleep(20);
            }
        });
        LocalLlm llm = open(s.url(), "first_token_timeout=600ms");
        for (Throwable t : bothForms(llm, SHORT)) {
            assertLimit(t, Limit.FIRST_BYTE);
        }
    }

    @Test
    void aServerThatDripsBytesHitsTheFirstTokenThenTheIdleLimit() throws Exception {
        RawServer s = raw((r, out) -> {
            RawServer.write(out, RawServer.SSE_HEAD);
            if (r.body().contains("after-one")) {
                RawServer.write(out, RawServer.chunk("one"));
            }
            for (byte b : RawServer.chunk("never complete").getBytes(StandardCharsets.UTF_8)) {
                if (b == '\n') {
                    b = ' ';
                }
                out.write(b);
                out.flush();
                Thread.sleep(40);
            }
            Thread.sleep(Long.MAX_VALUE);
        });
        LocalLlm llm = open(s.url(), "first_token_timeout=700ms&idle_timeout=700ms");
        for (Throwable t : bothForms(llm, SHORT)) {
            assertLimit(t, Limit.FIRST_BYTE);
        }
        long start = System.nanoTime();
        Throwable t = catchThrowable(() -> llm.chat(List.of(ChatMessage.user("after-one")), SHORT));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
        assertLimit(t, Limit.IDLE);
    }

    @Test
    void aServerThatNeverEndsIsStoppedAtMaxTokensAndTheConnectionClosed() throws Exception {
        RawServer s = raw((r, out) -> {
            RawServer.write(out, RawServer.SSE_HEAD);
            for (int i = 0; ; i++) {
                RawServer.write(out, RawServer.chunk(" w" + i));
                Thread.sleep(2);
            }
        });
        LocalLlm llm = open(s.url(), "ctx=40");
        long start = System.nanoTime();
        Completion c = llm.chat(List.of(ChatMessage.user("hi")), SHORT);
        assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(c.usage().completionTokens()).isEqualTo(10);
        assertThat(c.text()).isEqualTo(" w0 w1 w2 w3 w4 w5 w6 w7 w8 w9");
        Completion streamed = llm.streamChat(List.of(ChatMessage.user("hi")), SHORT, new Quiet()).completion()
                .get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(streamed.text()).isEqualTo(c.text());
        // without max tokens, the context length bounds the answer
        Completion unbounded = llm.chat(List.of(ChatMessage.user("hi")), GenerationOptions.defaults());
        assertThat(unbounded.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(unbounded.usage().completionTokens()).isEqualTo(40);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
        long deadline = System.nanoTime() + BOUND.toNanos();
        while (s.writeFailures.get() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(s.writeFailures.get()).as("the server saw each connection close").isEqualTo(3);
    }

    @Test
    void aWholeRequestLimitEndsAnyCall() throws Exception {
        RawServer s = raw((r, out) -> {
            RawServer.write(out, RawServer.SSE_HEAD);
            while (true) {
                RawServer.write(out, RawServer.chunk(" x"));
                Thread.sleep(50);
            }
        });
        LocalLlm llm = open(s.url(), "request_timeout=700ms");
        for (Throwable t : bothForms(llm, GenerationOptions.defaults())) {
            assertLimit(t, Limit.REQUEST);
        }
    }

    // ------------------------------------------------------------------ size

    @Test
    void aHugeLineIsCutAtTheLineCap() throws Exception {
        RawServer s = raw((r, out) -> {
            RawServer.write(out, RawServer.SSE_HEAD + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
            byte[] block = "x".repeat(64 * 1024).getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 4096; i++) {
                // 256 MiB, far beyond the heap of this test
                out.write(block);
            }
        });
        LocalLlm llm = open(s.url(), "max_line_bytes=64k");
        for (Throwable t : bothForms(llm, SHORT)) {
            assertLimit(t, Limit.LINE_LENGTH);
        }
    }

    @Test
    void aGzipBombIsCutAtTheBodyCapAfterDecompression() throws Exception {
        ByteArrayOutputStream packed = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(packed)) {
            byte[] zeros = new byte[1 << 20];
            gz.write("{\"object\":\"list\",\"data\":[{\"index\":0,\"embedding\":[0".getBytes(StandardCharsets.UTF_8));
            for (int i = 0; i < 160; i++) {
                // 160 MiB once inflated: more than the heap of this test
                gz.write(zeros);
            }
        }
        byte[] bomb = packed.toByteArray();
        assertThat(bomb.length).as("the bomb is small on the wire").isLessThan(1 << 20);
        RawServer s = raw((r, out) -> {
            RawServer.write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                    + "Content-Length: " + bomb.length + "\r\n\r\n");
            out.write(bomb);
        });
        LocalLlm llm = open(s.url(), "max_body_bytes=4m");
        long start = System.nanoTime();
        Throwable t = catchThrowable(() -> llm.embed(List.of("text")));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
        assertLimit(t, Limit.BODY_SIZE);
        // the same bomb as the answer of a whole (not streamed) chat
        Throwable whole = catchThrowable(() -> llm.chat(List.of(ChatMessage.user("hi")),
                SHORT.toBuilder().backendOption("openai", "stream", "false").build()));
        assertLimit(whole, Limit.BODY_SIZE);
    }

    // ------------------------------------------------------------------ redirects

    @Test
    void aRedirectToAnotherOriginIsNotFollowedAndNothingReachesIt() throws Exception {
        RawServer elsewhere = raw((r, out) -> RawServer.write(out, RawServer.json(200, "{}")));
        RawServer s = raw((r, out) -> RawServer.write(out, "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:"
                + elsewhere.port() + "/v1/chat/completions\r\nContent-Length: 0\r\n\r\n"));
        LocalLlm llm = LocalLlm.open("openai:" + s.url() + "?model=m&api_key=sk-secret");
        toClose.add(llm);
        for (Throwable t : bothForms(llm, SHORT)) {
            assertThat(t).isInstanceOf(RedirectRefusedException.class);
            assertThat(t.getMessage()).doesNotContain("sk-secret");
        }
        assertThat(elsewhere.requests).as("what the other origin received").isEmpty();
    }

    @Test
    void aRedirectWithinTheOriginIsFollowed() throws Exception {
        FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Flavour.LLAMA_SERVER);
        toClose.add(fake);
        fake.script("/old/v1/chat/completions", (ex, body) -> {
            ex.getResponseHeaders().set("Location", "/v1/chat/completions");
            ex.sendResponseHeaders(307, -1);
        });
        fake.script("/old/v1/models", (ex, body) -> {
            ex.getResponseHeaders().set("Location", "/v1/models");
            ex.sendResponseHeaders(307, -1);
        });
        LocalLlm llm = LocalLlm.open("openai:http://127.0.0.1:" + fake.port() + "/old/v1?model=" + FakeOpenAiServer.MODEL);
        toClose.add(llm);
        assertThat(llm.chat(List.of(ChatMessage.user("hi")), SHORT).text()).isNotEmpty();
        assertThat(fake.last("/v1/chat/completions").body().path("messages").get(0).path("content").asText())
                .isEqualTo("hi");
    }

    // ------------------------------------------------------------------ error shapes

    private LocalLlm withError(FakeOpenAiServer.Flavour flavour, String path, int status, String type, String message)
            throws IOException {
        FakeOpenAiServer fake = new FakeOpenAiServer(flavour);
        toClose.add(fake);
        fake.script(path, (ex, body) -> fake.error(ex, status, type, message));
        LocalLlm llm = LocalLlm.open("openai:" + fake.url() + "?model=" + FakeOpenAiServer.MODEL);
        toClose.add(llm);
        return llm;
    }

    @Test
    void errorsOfBothShapesBecomeTypedExceptionsWithTheServersMessage() throws Exception {
        String chat = "/v1/chat/completions";
        Function<LocalLlm, Throwable> call = llm -> catchThrowable(() -> llm.chat(List.of(ChatMessage.user("hi")), SHORT));

        Throwable llamaOverflow = call.apply(withError(FakeOpenAiServer.Flavour.LLAMA_SERVER, chat, 400,
                "exceed_context_size_error", "the request exceeds the available context size, try increasing it"));
        assertThat(llamaOverflow).isInstanceOf(ContextOverflowException.class)
                .hasMessageContaining("exceeds the available context size");
        Throwable vllmOverflow = call.apply(withError(FakeOpenAiServer.Flavour.VLLM, chat, 400, "BadRequestError",
                "This model's maximum context length is 1024 tokens. However, you requested 2000 tokens (1990 in the "
                        + "messages, 10 in the completion). Please reduce the length of the messages or completion."));
        assertThat(vllmOverflow).isInstanceOf(ContextOverflowException.class).hasMessageContaining("1024 tokens");
        ContextOverflowException counted = (ContextOverflowException) vllmOverflow;
        assertThat(counted.promptTokens()).hasValue(1990);
        assertThat(counted.requestedTokens()).hasValue(10);
        assertThat(counted.contextLength()).hasValue(1024);

        FakeOpenAiServer llama = new FakeOpenAiServer(FakeOpenAiServer.Flavour.LLAMA_SERVER);
        toClose.add(llama);
        LocalLlm small = LocalLlm.open("openai:" + llama.url() + "?model=" + FakeOpenAiServer.MODEL);
        toClose.add(small);
        Throwable tooLong = catchThrowable(() -> small.generate(" word".repeat(llama.contextLength + 5), SHORT));
        assertThat(tooLong).isInstanceOf(ContextOverflowException.class);
        assertThat(((ContextOverflowException) tooLong).promptTokens()).hasValue(llama.contextLength + 5);
        assertThat(((ContextOverflowException) tooLong).contextLength()).hasValue(llama.contextLength);

        Throwable llama500 = call.apply(withError(FakeOpenAiServer.Flavour.LLAMA_SERVER, chat, 500, "server_error",
                "slot unavailable: out of memory"));
        assertThat(llama500).isInstanceOf(BackendUnavailableException.class).hasMessageContaining("out of memory")
                .hasMessageContaining("HTTP 500");
        Throwable vllm500 = call.apply(withError(FakeOpenAiServer.Flavour.VLLM, chat, 500, "InternalServerError",
                "engine dead"));
        assertThat(vllm500).isInstanceOf(BackendUnavailableException.class).hasMessageContaining("engine dead");

        Throwable unauthorized = call.apply(withError(FakeOpenAiServer.Flavour.LLAMA_SERVER, chat, 401,
                "authentication_error", "Invalid API Key"));
        assertThat(unauthorized).isExactlyInstanceOf(LlmException.class).hasMessageContaining("Invalid API Key")
                .hasMessageContaining("api_key");

        Throwable missing = call.apply(withError(FakeOpenAiServer.Flavour.VLLM, chat, 404, "NotFoundError",
                "The model `m` does not exist."));
        assertThat(missing).isInstanceOf(ModelNotFoundException.class).hasMessageContaining("does not exist");

        Throwable badRequest = call.apply(withError(FakeOpenAiServer.Flavour.VLLM, chat, 400, "BadRequestError",
                "temperature must be non-negative"));
        assertThat(badRequest).isExactlyInstanceOf(LlmException.class)
                .hasMessageContaining("temperature must be non-negative").hasMessageContaining("HTTP 400");

        LocalLlm noEmbeddings = withError(FakeOpenAiServer.Flavour.LLAMA_SERVER, "/v1/embeddings", 501,
                "not_supported_error", "This server does not support embeddings. Start it with `--embeddings`");
        assertThat(catchThrowable(() -> noEmbeddings.embed(List.of("x"))))
                .isInstanceOf(UnsupportedCapabilityException.class).hasMessageContaining("--embeddings");
    }

    @Test
    void aProxysPlainTextErrorIsReportedWithItsStart() throws Exception {
        String page = "<html><body>502 Bad Gateway</body></html>";
        RawServer s = raw((r, out) -> RawServer.write(out, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                + "Content-Length: " + page.length() + "\r\n\r\n" + page));
        LocalLlm llm = open(s.url(), "max_retries=0");
        for (Throwable t : bothForms(llm, SHORT)) {
            assertThat(t).isInstanceOf(BackendUnavailableException.class).hasMessageContaining("502 Bad Gateway");
        }
    }

    @Test
    void errorsInsideTheStreamInBothShapes() throws Exception {
        RawServer s = raw((r, out) -> {
            RawServer.write(out, RawServer.SSE_HEAD + RawServer.chunk("partial"));
            if (r.body().contains("llama")) {
                // llama-server's own field for an error in the middle of a stream
                RawServer.write(out, "error: {\"code\":500,\"message\":\"llama decode failed\",\"type\":\"server_error\"}\n\n");
            } else {
                RawServer.write(out, "data: {\"error\":{\"message\":\"vllm engine error\",\"type\":\"InternalServerError\","
                        + "\"code\":500}}\n\n");
            }
        });
        LocalLlm llm = open(s.url(), "");
        assertThat(catchThrowable(() -> llm.chat(List.of(ChatMessage.user("llama")), SHORT)))
                .isInstanceOf(LlmException.class).hasMessageContaining("llama decode failed")
                .hasMessageContaining("inside the stream");
        assertThat(catchThrowable(() -> llm.chat(List.of(ChatMessage.user("vllm")), SHORT)))
                .isInstanceOf(LlmException.class).hasMessageContaining("vllm engine error");
    }

    // ------------------------------------------------------------------ malformed streams

    @Test
    void malformedStreamsAreTypedErrors() throws Exception {
        RawServer s = raw((r, out) -> {
            RawServer.write(out, RawServer.SSE_HEAD);
            String b = r.body();
            if (b.contains("notjson")) {
                RawServer.write(out, "data: {\"choices\": [oops\n\n");
            } else if (b.contains("array")) {
                RawServer.write(out, "data: [1, 2]\n\n");
            } else if (b.contains("cut")) {
                RawServer.write(out, RawServer.chunk("half"));
            } else {
                out.write("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\u00ff".getBytes(StandardCharsets.ISO_8859_1));
                RawServer.write(out, "\"}}]}\n\n");
            }
        });
        LocalLlm llm = open(s.url(), "");
        assertThat(catchThrowable(() -> llm.chat(List.of(ChatMessage.user("notjson")), SHORT)))
                .isInstanceOf(LlmException.class).hasMessageContaining("not JSON");
        assertThat(catchThrowable(() -> llm.chat(List.of(ChatMessage.user("array")), SHORT)))
                .isInstanceOf(LlmException.class).hasMessageContaining("not an object");
        assertThat(catchThrowable(() -> llm.chat(List.of(ChatMessage.user("cut")), SHORT)))
                .isInstanceOf(BackendUnavailableException.class).hasMessageContaining("incomplete");
        assertThat(catchThrowable(() -> llm.chat(List.of(ChatMessage.user("latin1")), SHORT)))
                .isInstanceOf(MalformedResponseException.class).hasMessageContaining("UTF-8");
    }

    @Test
    void sseIsReadTolerantly() throws Exception {
        RawServer s = raw((r, out) -> {
            RawServer.write(out, RawServer.SSE_HEAD);
            RawServer.write(out, ": connected\r\n\r\n");
            RawServer.write(out, "retry: 1000\r\nid: 1\r\nevent: message\r\n");
            RawServer.write(out, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\r\n");
            RawServer.write(out, "data: \"unknown_field\":{\"x\":1},\"finish_reason\":null}],\"new\":true}\r\n\r\n");
            RawServer.write(out, ":\n\n\n");
            RawServer.write(out, "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":null}]}\n\n");
            RawServer.write(out, "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"other choice\"}}]}\n\n");
            RawServer.write(out, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
            // no [DONE]: the stream ends after the finish reason
        });
        LocalLlm llm = open(s.url(), "");
        Completion c = llm.chat(List.of(ChatMessage.user("hi")), GenerationOptions.defaults());
        assertThat(c.text()).isEqualTo("Hello world");
        assertThat(c.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void keepAlivesAndCrlfFromTheFakeServersGiveTheSameText() throws Exception {
        FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Flavour.LLAMA_SERVER);
        toClose.add(fake);
        LocalLlm llm = LocalLlm.open("openai:" + fake.url() + "?model=" + FakeOpenAiServer.MODEL);
        toClose.add(llm);
        GenerationOptions o = GenerationOptions.builder().maxTokens(8).temperature(0.0).build();
        String plain = llm.generate("Once", o).text();
        fake.keepAlives = true;
        fake.crlf = true;
        assertThat(llm.generate("Once", o).text()).isEqualTo(plain);
    }

    // ------------------------------------------------------------------ unreachable

    @Test
    void aServerThatIsDownFailsFastAtOpen() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            port = free.getLocalPort();
        }
        long start = System.nanoTime();
        assertThatThrownBy(() -> LocalLlm.open("openai:http://127.0.0.1:" + port + "/v1?model=m"))
                .isInstanceOf(BackendUnavailableException.class).hasMessageContaining("127.0.0.1:" + port);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
    }
}
