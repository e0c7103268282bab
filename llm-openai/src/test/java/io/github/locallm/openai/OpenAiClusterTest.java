package io.github.locallm.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.github.locallm.BackendUnavailableException;
import io.github.locallm.ChatMessage;
import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationHandle;
import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a team serving a model from busy or several servers relies on: retries of busy answers before the
 * first token (honouring {@code Retry-After}), none after it, a per-model concurrency limit, least-busy
 * choice between several base URLs with failover and health checks, and cancel closing the connection.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OpenAiClusterTest {
    private static final GenerationOptions FEW = GenerationOptions.builder().maxTokens(5).temperature(0.0).build();
    private static final List<ChatMessage> HI = List.of(ChatMessage.user("hi"));
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private FakeOpenAiServer server() throws IOException {
        FakeOpenAiServer s = new FakeOpenAiServer(FakeOpenAiServer.Flavour.VLLM);
        toClose.add(s);
        return s;
    }

    private LocalLlm open(String baseUrls, String... settings) {
        OpenOptions.Builder b = OpenOptions.builder().parameter("base_url", baseUrls);
        for (int i = 0; i < settings.length; i += 2) {
            b.parameter(settings[i], settings[i + 1]);
        }
        LocalLlm llm = LocalLlm.open("openai:" + FakeOpenAiServer.MODEL, b.build());
        toClose.add(llm);
        return llm;
    }

    @Test
    void busyAnswersAreRetriedHonouringRetryAfter() throws Exception {
        FakeOpenAiServer s = server();
        LocalLlm llm = open(s.url());
        s.busy.add("429:1");
        s.busy.add("503");
        long start = System.nanoTime();
        Completion c = llm.chat(HI, FEW);
        assertThat(c.usage().completionTokens()).isEqualTo(5);
        assertThat(s.count("/v1/chat/completions")).isEqualTo(3);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("waited the Retry-After of 1 s")
                .isGreaterThanOrEqualTo(Duration.ofMillis(950));
        // the same for a stream and for embeddings
        s.busy.add("503");
        Completion streamed = llm.streamChat(HI, FEW, new OpenAiFaultsTest.Quiet()).completion().get(30, TimeUnit.SECONDS);
        assertThat(streamed.text()).isEqualTo(c.text());
        s.busy.add("429");
        assertThat(llm.embed(List.of("a"))).hasSize(1);
        assertThat(s.count("/v1/embeddings")).isEqualTo(2);
    }

    @Test
    void aRetryAfterBeyondTheMaximumWaitFailsAtOnceAndRetriesAreBounded() throws Exception {
        FakeOpenAiServer s = server();
        LocalLlm llm = open(s.url(), "max_retries", "1", "retry_max_wait", "5s");
        s.busy.add("429:3600");
        long start = System.nanoTime();
        Throwable t = catchThrowable(() -> llm.chat(HI, FEW));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(t).isInstanceOf(BackendUnavailableException.class).hasMessageContaining("HTTP 429")
                .hasMessageContaining("Too many requests");
        assertThat(s.count("/v1/chat/completions")).isEqualTo(1);

        s.busy.add("503");
        s.busy.add("503");
        s.busy.add("503");
        Throwable exhausted = catchThrowable(() -> llm.chat(HI, FEW));
        assertThat(exhausted).isInstanceOf(BackendUnavailableException.class).hasMessageContaining("Loading model");
        assertThat(s.count("/v1/chat/completions")).as("one try and one retry").isEqualTo(3);
        s.busy.clear();
    }

    @Test
    void nothingIsRetriedOnceTheAnswerBegan() throws Exception {
        RawServer s = new RawServer((r, out) -> RawServer.write(out, RawServer.SSE_HEAD + RawServer.chunk("partial")));
        toClose.add(s);
        LocalLlm llm = LocalLlm.open("openai:" + s.url() + "?model=m");
        toClose.add(llm);
        Throwable t = catchThrowable(() -> llm.chat(HI, FEW));
        assertThat(t).isInstanceOf(BackendUnavailableException.class).hasMessageContaining("incomplete");
        assertThat(s.count("/v1/chat/completions")).isEqualTo(1);
    }

    @Test
    void theConcurrencyLimitHoldsAndTheRestWait() throws Exception {
        FakeOpenAiServer s = server();
        s.tokenDelayMillis = 15;
        LocalLlm llm = open(s.url(), "max_concurrency", "2");
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<Completion>> results = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                results.add(pool.submit(() -> llm.chat(HI, GenerationOptions.builder().maxTokens(10).build())));
            }
            for (Future<Completion> f : results) {
                assertThat(f.get(30, TimeUnit.SECONDS).usage().completionTokens()).isEqualTo(10);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(s.maxActive.get()).as("most generations at once on the server").isEqualTo(2);
    }

    @Test
    void severalServersShareTheLoadAndOneThatIsDownIsSkipped() throws Exception {
        FakeOpenAiServer a = server();
        FakeOpenAiServer b = server();
        a.tokenDelayMillis = 10;
        b.tokenDelayMillis = 10;
        LocalLlm llm = open(a.url() + "," + b.url(), "health_interval", "0");
        assertThat(llm.info().details().get("base_url")).contains(a.url()).contains(b.url());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Completion>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> llm.chat(HI, GenerationOptions.builder().maxTokens(8).build())));
            }
            for (Future<Completion> f : results) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        long onA = a.count("/v1/chat/completions");
        long onB = b.count("/v1/chat/completions");
        assertThat(onA + onB).isEqualTo(8);
        assertThat(onA).as("calls on the first server").isBetween(2L, 6L);
        assertThat(onB).as("calls on the second server").isBetween(2L, 6L);

        a.close();
        for (int i = 0; i < 4; i++) {
            assertThat(llm.chat(HI, FEW).usage().completionTokens()).isEqualTo(5);
        }
        assertThat(b.count("/v1/chat/completions")).isEqualTo(onB + 4);
    }

    @Test
    void aServerFailingItsHealthCheckGetsNoCallsUntilItRecovers() throws Exception {
        FakeOpenAiServer a = server();
        FakeOpenAiServer b = server();
        LocalLlm llm = open(a.url() + "," + b.url(), "health_interval", "100ms");
        a.script("/health", (ex, body) -> a.error(ex, 503, "unavailable_error", "Loading model"));
        long seen = a.count("/health");
        waitFor(() -> a.count("/health") >= seen + 2);
        long before = a.count("/v1/chat/completions");
        for (int i = 0; i < 6; i++) {
            llm.chat(HI, FEW);
        }
        assertThat(a.count("/v1/chat/completions")).as("calls to the server marked down").isEqualTo(before);
        a.script("/health", null);
        long again = a.count("/health");
        waitFor(() -> a.count("/health") >= again + 2);
        for (int i = 0; i < 6; i++) {
            llm.chat(HI, FEW);
        }
        assertThat(a.count("/v1/chat/completions")).as("calls once it is healthy again").isGreaterThan(before);
    }

    @Test
    void cancelClosesTheConnection() throws Exception {
        FakeOpenAiServer s = server();
        s.tokenDelayMillis = 20;
        LocalLlm llm = open(s.url());
        CountDownLatch three = new CountDownLatch(3);
        AtomicInteger tokens = new AtomicInteger();
        GenerationHandle handle = llm.streamChat(HI, GenerationOptions.builder().maxTokens(500).build(),
                new OpenAiFaultsTest.Quiet() {
                    @Override
                    public void onToken(String text) {
                        tokens.incrementAndGet();
                        three.countDown();
                    }
                });
        assertThat(three.await(30, TimeUnit.SECONDS)).isTrue();
        handle.cancel();
        Completion c = handle.completion().get(30, TimeUnit.SECONDS);
        assertThat(c.finishReason()).isEqualTo(FinishReason.CANCELLED);
        waitFor(() -> s.disconnects.get() == 1);
        assertThat(tokens.get()).isLessThan(500);
        assertThat(s.active.get()).as("generations still running on the server").isZero();
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition reached in time").isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
