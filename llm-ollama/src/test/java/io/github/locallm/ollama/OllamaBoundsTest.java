package io.github.locallm.ollama;

import static io.github.locallm.ollama.TestSupport.NEVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.http.HttpLimits;
import io.github.locallm.http.Limit;
import io.github.locallm.http.LimitExceededException;
import io.github.locallm.http.MalformedResponseException;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.TokenSink;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A hostile or broken server never holds a call without bound, in time or in memory: an endless stream,
 * an endless line, a gzip bomb, a slow drip, blank keep-alive lines, an unknown finish reason, bytes that
 * are not UTF-8. Each fault is endless or larger than the heap unless the client bounds it.
 *
 * <p>The build runs this class in a JVM of its own with a small heap ({@code -Xmx96m}, see the module's
 * pom), so a bound that does not hold ends in {@link OutOfMemoryError} rather than in a pass; each test also
 * bounds its time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OllamaBoundsTest {
    private static final String CHAT = "fake-llm";
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
    }

    /** A sink that keeps nothing, so that the test itself holds no memory. */
    static final class CountingSink implements TokenSink {
        final AtomicInteger pieces = new AtomicInteger();
        final AtomicLong chars = new AtomicLong();

        @Override
        public void token(String text) {
            pieces.incrementAndGet();
            chars.addAndGet(text.length());
        }
    }

    private static String piece(String text) {
        return "{\"model\":\"fake-llm\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"response\":\""
                + text + "\",\"done\":false}";
    }

    /** Writes lines until the client goes away or 50 s pass; counts down when the client went away. */
    private static void endless(OutputStream out, String line, CountDownLatch clientLeft) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(50);
        try {
            while (System.nanoTime() < end) {
                out.write(bytes);
                out.flush();
            }
        } catch (IOException e) {
            clientLeft.countDown();
        }
    }

    private static long millisSince(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    @Test
    void serverIgnoringTheTokenLimitIsCutThereAndClosed() throws Exception {
        CountDownLatch clientLeft = new CountDownLatch(1);
        server.script("/api/generate", (ex, body) -> {
            assertThat(body.path("options").path("num_predict").asInt()).isEqualTo(10);
            endless(FakeOllamaServer.startStream(ex), piece("x"), clientLeft);
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            CountingSink sink = new CountingSink();
            long t0 = System.nanoTime();
            BackendResult r = llm.generate(GenerationRequest.completion("go",
                    GenerationOptions.builder().maxTokens(10).build()), sink, NEVER);
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(sink.pieces.get()).isEqualTo(10);
            assertThat(r.completionTokens()).isEqualTo(10);
            assertThat(clientLeft.await(5, TimeUnit.SECONDS)).as("the server saw the call closed").isTrue();
            assertThat(millisSince(t0)).isLessThan(5000);
        }
    }

    @Test
    void tokenLimitHoldsThroughLocalLlmToo() throws Exception {
        CountDownLatch clientLeft = new CountDownLatch(1);
        server.script("/api/chat", (ex, body) -> endless(FakeOllamaServer.startStream(ex),
                "{\"message\":{\"role\":\"assistant\",\"content\":\"y\"},\"done\":false}", clientLeft));
        try (LocalLlm llm = LocalLlm.open("ollama:" + CHAT + "?host=" + server.url())) {
            Completion c = llm.chat(List.of(ChatMessage.user("hi")), GenerationOptions.builder().maxTokens(7).build());
            assertThat(c.text()).isEqualTo("yyyyyyy");
            assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(clientLeft.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void endlessStreamWithoutTokenLimitEndsAtTheStreamCap() throws Exception {
        CountDownLatch clientLeft = new CountDownLatch(1);
        server.script("/api/generate", (ex, body) -> endless(FakeOllamaServer.startStream(ex), piece("z"), clientLeft));
        try (LlmBackend llm = TestSupport.open(server, CHAT, "max_stream_bytes", "4m")) {
            CountingSink sink = new CountingSink();
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> llm.generate(GenerationRequest.completion("go", GenerationOptions.defaults()),
                    sink, NEVER))
                    .isInstanceOfSatisfying(LimitExceededException.class, e -> {
                        assertThat(e.limit()).isEqualTo(Limit.STREAM_SIZE);
                        assertThat(e.value()).isEqualTo(4L << 20);
                    })
                    .hasMessageContaining("max_stream_bytes");
            // one piece per line of some 100 bytes: the cap stops it after some 40,000 pieces
            assertThat(sink.pieces.get()).isBetween(10_000, 60_000);
            assertThat(clientLeft.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(millisSince(t0)).isLessThan(30_000);
        }
    }

    @Test
    void endlessLineEndsAtTheDefaultLineCap() throws Exception {
        CountDownLatch clientLeft = new CountDownLatch(1);
        AtomicLong sent = new AtomicLong();
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) 'a');
            out.write("{\"response\":\"".getBytes(StandardCharsets.UTF_8));
            try {
                for (int i = 0; i < 100_000; i++) {
                    out.write(chunk);
                    sent.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                clientLeft.countDown();
            }
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> llm.generate(GenerationRequest.completion("go", GenerationOptions.defaults()),
                    new CountingSink(), NEVER))
                    .isInstanceOfSatisfying(LimitExceededException.class, e -> {
                        assertThat(e.limit()).isEqualTo(Limit.LINE_LENGTH);
                        assertThat(e.value()).isEqualTo(HttpLimits.DEFAULT_MAX_LINE_BYTES);
                    })
                    .hasMessageContaining("max_line_bytes");
            assertThat(clientLeft.await(5, TimeUnit.SECONDS)).isTrue();
            // the client stopped reading soon after the cap, long before the 6.5 GB the server had to send
            assertThat(sent.get()).isLessThan(HttpLimits.DEFAULT_MAX_LINE_BYTES * 4);
            assertThat(millisSince(t0)).isLessThan(20_000);
        }
    }

    @Test
    void gzipBombAnsweringShowEndsAtTheDefaultBodyCap() throws Exception {
        AtomicLong inflated = new AtomicLong();
        CountDownLatch clientLeft = new CountDownLatch(1);
        server.script("/api/show", (ex, body) -> {
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.getResponseHeaders().set("Content-Encoding", "gzip");
            ex.sendResponseHeaders(200, 0);
            byte[] zeros = new byte[1 << 20];
            try (GZIPOutputStream gz = new GZIPOutputStream(ex.getResponseBody(), 1 << 16)) {
                // 8 GiB once inflated: far more than the heap, some 8 MB on the wire
                for (int i = 0; i < 8192; i++) {
                    gz.write(zeros);
                    inflated.addAndGet(zeros.length);
                }
            } catch (IOException e) {
                clientLeft.countDown();
            }
        });
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> TestSupport.open(server, CHAT))
                .isInstanceOfSatisfying(LimitExceededException.class, e -> {
                    assertThat(e.limit()).isEqualTo(Limit.BODY_SIZE);
                    assertThat(e.value()).isEqualTo(HttpLimits.DEFAULT_MAX_BODY_BYTES);
                })
                .hasMessageContaining("after decompression").hasMessageContaining("reading the details");
        assertThat(server.last("/api/show").header("Accept-Encoding")).contains("gzip");
        assertThat(clientLeft.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(inflated.get()).isLessThan(1L << 30);
        assertThat(millisSince(t0)).isLessThan(30_000);
    }

    @Test
    void slowDripEndsAtTheMinimumRate() throws Exception {
        CountDownLatch clientLeft = new CountDownLatch(1);
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, piece("The"));
            try {
                // one byte every 100 ms, never a whole line: far below 50 bytes/s
                for (int i = 0; i < 600; i++) {
                    out.write('{');
                    out.flush();
                    Thread.sleep(100);
                }
            } catch (IOException e) {
                clientLeft.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT, "idle_timeout", "60s", "min_bytes_per_second", "50",
                "min_rate_window", "1s")) {
            CountingSink sink = new CountingSink();
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> llm.generate(GenerationRequest.completion("go", GenerationOptions.defaults()),
                    sink, NEVER))
                    .isInstanceOfSatisfying(LimitExceededException.class, e -> {
                        assertThat(e.limit()).isEqualTo(Limit.MIN_RATE);
                        assertThat(e.value()).isEqualTo(50);
                    })
                    .hasMessageContaining("minimum transfer rate").hasMessageContaining("min_bytes_per_second");
            assertThat(millisSince(t0)).isBetween(900L, 10_000L);
            assertThat(sink.pieces.get()).isEqualTo(1);
            assertThat(clientLeft.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void blankKeepAliveLinesDoNotResetTheIdleLimit() throws Exception {
        CountDownLatch clientLeft = new CountDownLatch(1);
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, piece("The"));
            try {
                for (int i = 0; i < 1000; i++) {
                    out.write("  \n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    Thread.sleep(20);
                }
            } catch (IOException e) {
                clientLeft.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT, "idle_timeout", "500ms", "min_bytes_per_second", "0")) {
            long t0 = System.nanoTime();
            assertThatThrownBy(() -> llm.generate(GenerationRequest.completion("go", GenerationOptions.defaults()),
                    new CountingSink(), NEVER))
                    .isInstanceOfSatisfying(LimitExceededException.class, e -> assertThat(e.limit()).isEqualTo(Limit.IDLE));
            assertThat(millisSince(t0)).isBetween(400L, 5_000L);
            assertThat(clientLeft.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void unknownDoneReasonIsKeptRawAndLoggedOnce() throws Exception {
        server.script("/api/chat", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, "{\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}");
            FakeOllamaServer.rawLine(out, "{\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
                    + "\"done_reason\":\"quota_exhausted\",\"eval_count\":1,\"prompt_eval_count\":3}");
        });
        List<LogRecord> logged = new ArrayList<>();
        Logger logger = Logger.getLogger(OllamaBackend.class.getName());
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                synchronized (logged) {
                    logged.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(handler);
        try (LocalLlm llm = LocalLlm.open("ollama:" + CHAT + "?host=" + server.url())) {
            Completion first = llm.chat(List.of(ChatMessage.user("hi")), GenerationOptions.defaults());
            Completion second = llm.chat(List.of(ChatMessage.user("hi")), GenerationOptions.defaults());
            for (Completion c : List.of(first, second)) {
                assertThat(c.text()).isEqualTo("Hi");
                assertThat(c.finishReason()).isEqualTo(FinishReason.STOP);
                assertThat(c.rawFinishReason()).isEqualTo("quota_exhausted");
            }
            synchronized (logged) {
                assertThat(logged).filteredOn(r -> r.getMessage().contains("quota_exhausted")).hasSize(1);
            }
        } finally {
            logger.removeHandler(handler);
        }
        server.script("/api/chat", null);
        try (LocalLlm llm = LocalLlm.open("ollama:" + CHAT + "?host=" + server.url())) {
            Completion known = llm.chat(List.of(ChatMessage.user("hi")), GenerationOptions.builder().maxTokens(2).build());
            assertThat(known.rawFinishReason()).isEqualTo("length");
            assertThat(known.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void invalidUtf8IsAnErrorNeverAReplacementChar() throws Exception {
        server.script("/api/generate", (ex, body) -> {
            OutputStream out = FakeOllamaServer.startStream(ex);
            FakeOllamaServer.rawLine(out, piece("ok"));
            out.write("{\"response\":\"caf".getBytes(StandardCharsets.UTF_8));
            out.write(new byte[] {(byte) 0xC3, (byte) 0x28});
            out.write("\",\"done\":false}\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            FakeOllamaServer.rawLine(out, "{\"response\":\"\",\"done\":true,\"done_reason\":\"stop\"}");
        });
        try (LlmBackend llm = TestSupport.open(server, CHAT)) {
            TestSupport.Sink sink = new TestSupport.Sink();
            assertThatThrownBy(() -> llm.generate(GenerationRequest.completion("go", GenerationOptions.defaults()),
                    sink, NEVER))
                    .isInstanceOf(MalformedResponseException.class)
                    .hasMessageContaining("not valid UTF-8").hasMessageContaining("byte 16");
            assertThat(sink.text.toString()).isEqualTo("ok").doesNotContain("\uFFFD");
        }
    }
}
