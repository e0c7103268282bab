package io.github.locallm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.memory.InMemoryBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Core behaviour that the TCK cannot see from outside: discovery, opening, lifecycle against the backend.
 *
 * <p>No test depends on the speed of the machine: generations that must still run when something happens
 * to them are held by the in-memory backend ({@code hold_after}) until they are cancelled, so a cancel that
 * does not work shows as a generation that never returns (caught by the bounded waits), never as a race.
 */
@Timeout(60)
class LocalLlmTest {
    private static final GenerationOptions GREEDY = GenerationOptions.builder().temperature(0).maxTokens(12).build();

    @TempDir
    Path dir;

    @Test
    void unknownSchemeNamesInstalledBackendsAndArtifacts() {
        assertThatThrownBy(() -> LocalLlm.open("nosuch:x")).isInstanceOf(ProviderNotFoundException.class)
                .hasMessageStartingWith("No backend accepts 'nosuch' (from \"nosuch:x\"). Installed: memory [memory].")
                .hasMessageContaining("io.github.locallm:llm-ollama (ollama)");
        assertThatThrownBy(() -> LocalLlm.open("ollama:llama3.2")).hasMessage("No backend accepts 'ollama' "
                + "(from \"ollama:llama3.2\"). Installed: memory [memory]. Add the io.github.locallm:llm-ollama dependency.");
        assertThat(LocalLlm.providers()).extracting(ProviderInfo::name).contains("memory");
    }

    @Test
    void openOptionsWinOverTheSpecQuery() {
        try (LocalLlm llm = LocalLlm.open("memory:a?ctx=100", OpenOptions.builder().contextLength(200).build())) {
            assertThat(llm.info().contextLength()).isEqualTo(200);
            assertThat(llm.info().model()).isEqualTo("a");
        }
        try (LocalLlm llm = LocalLlm.open("memory:a?ctx=100")) {
            assertThat(llm.info().contextLength()).isEqualTo(100);
        }
        assertThatThrownBy(() -> LocalLlm.open("memory:a?colour=red")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("colour").hasMessageContaining("known:");
        assertThatThrownBy(() -> LocalLlm.open("memory:missing")).isInstanceOf(ModelNotFoundException.class);
        assertThatThrownBy(() -> LocalLlm.open("memory:x", OpenOptions.builder().backend("djl").build()))
                .isInstanceOf(ProviderNotFoundException.class).hasMessageContaining("llm-djl");
    }

    @Test
    void openPathPicksTheBackendFromWhatThePathIs() throws Exception {
        Path model = Files.writeString(dir.resolve("tiny.mem"), "x");
        try (LocalLlm llm = LocalLlm.open(model)) {
            assertThat(llm.info().backend()).isEqualTo("memory");
            assertThat(llm.info().model()).isEqualTo(model.toAbsolutePath().normalize().toString());
        }
        assertThatThrownBy(() -> LocalLlm.open(dir.resolve("absent.gguf"))).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("absent.gguf").hasMessageContaining("does not exist");
        assertThatThrownBy(() -> LocalLlm.open(dir)).isInstanceOf(ProviderNotFoundException.class)
                .hasMessageContaining("a directory without config.json").hasMessageContaining(".gguf file");
        assertThatThrownBy(() -> LocalLlm.open((Path) null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void closeWaitsForRunningCallsThenClosesTheBackendOnce() throws Exception {
        LocalLlm llm = LocalLlm.open("memory:lifecycle?hold_after=1");
        InMemoryBackend backend = InMemoryBackend.last();
        CountDownLatch first = new CountDownLatch(1);
        List<Completion> results = new ArrayList<>();
        GenerationHandle h = llm.stream("p", GenerationOptions.builder().maxTokens(5000).build(), new StreamHandler() {
            @Override
            public void onToken(String text) {
                first.countDown();
            }

            @Override
            public void onComplete(Completion completion) {
                results.add(completion);
            }

            @Override
            public void onError(Throwable error) {
            }
        });
        ChatSession session = llm.newChatSession("sys");
        assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(h).hasToString("GenerationHandle[running]");
        llm.close();
        assertThat(backend.activeCalls.get()).as("no backend call runs once close returned").isZero();
        assertThat(backend.closeCalls.get()).isEqualTo(1);
        llm.close();
        assertThat(backend.closeCalls.get()).isEqualTo(1);
        assertThat(backend.misuse.get()).as("calls after close or close during a call").isZero();
        Completion cancelled = h.completion().get(10, TimeUnit.SECONDS);
        assertThat(cancelled.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(h).hasToString("GenerationHandle[done: CANCELLED, " + cancelled.usage().completionTokens() + " tokens]");
        assertThat(session.isClosed()).isTrue();
        assertThat(llm.isClosed()).isTrue();
        assertThatThrownBy(llm::info).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void argumentsAreCheckedBeforeAnyBackendWork() {
        try (LocalLlm llm = LocalLlm.open("memory:validation")) {
            InMemoryBackend backend = InMemoryBackend.last();
            assertThatThrownBy(() -> llm.chat(List.of(), GREEDY)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> llm.generate(null)).isInstanceOf(NullPointerException.class).hasMessage("prompt");
            assertThatThrownBy(() -> llm.generate("p", null)).isInstanceOf(NullPointerException.class)
                    .hasMessage("options");
            assertThatThrownBy(() -> llm.generate("p", GREEDY.toBuilder().responseFormat(ResponseFormat.JSON).build()))
                    .isInstanceOf(UnsupportedCapabilityException.class).hasMessageContaining("JSON_MODE");
            assertThatThrownBy(() -> llm.publisher("p", GREEDY.toBuilder().think(true).build()))
                    .isInstanceOf(UnsupportedCapabilityException.class);
            assertThatThrownBy(() -> llm.embed(List.of())).isInstanceOf(IllegalArgumentException.class);
            assertThat(backend.generateCalls.get()).isZero();
        }
    }

    @Test
    void closingAnIteratorReturnsOnlyAfterTheBackendStopped() {
        try (LocalLlm llm = LocalLlm.open("memory:iter?hold_after=1")) {
            InMemoryBackend backend = InMemoryBackend.last();
            TokenStream tokens = llm.tokens("p", GenerationOptions.builder().maxTokens(5000).build());
            assertThat(tokens.next()).isNotEmpty();
            tokens.close();
            assertThat(backend.activeCalls.get()).isZero();
            assertThat(tokens.completion().finishReason()).isEqualTo(FinishReason.CANCELLED);
        }
    }

    @Test
    void backendFailureReachesEveryFormOnce() throws Exception {
        try (LocalLlm llm = LocalLlm.open("memory:failing?fail_after=3")) {
            assertThatThrownBy(() -> llm.generate("p", GREEDY)).isInstanceOf(LlmException.class)
                    .hasMessageContaining("failed on purpose after 3 tokens");

            List<String> events = new ArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            llm.stream("p", GREEDY, new StreamHandler() {
                @Override
                public void onToken(String text) {
                    events.add("token");
                }

                @Override
                public void onComplete(Completion completion) {
                    events.add("complete");
                    done.countDown();
                }

                @Override
                public void onError(Throwable error) {
                    events.add("error:" + error.getClass().getSimpleName());
                    done.countDown();
                }
            });
            assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(20);
            assertThat(events).containsExactly("token", "token", "token", "error:LlmException");

            TokenStream it = llm.tokens("p", GREEDY);
            assertThat(it.next() + it.next() + it.next()).hasSize(3);
            assertThatThrownBy(it::hasNext).isInstanceOf(LlmException.class);

            CompletableFuture<Completion> f = llm.generateAsync("p", GREEDY);
            assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class).hasCauseInstanceOf(LlmException.class);

            AtomicReference<Throwable> err = new AtomicReference<>();
            CountDownLatch pubDone = new CountDownLatch(1);
            llm.publisher("p", GREEDY).subscribe(new Flow.Subscriber<String>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(String item) {
                }

                @Override
                public void onError(Throwable t) {
                    err.set(t);
                    pubDone.countDown();
                }

                @Override
                public void onComplete() {
                    pubDone.countDown();
                }
            });
            assertThat(pubDone.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(err.get()).isInstanceOf(LlmException.class);
        }
    }

    @Test
    void handlerFailureCancelsAndIsReported() throws Exception {
        try (LocalLlm llm = LocalLlm.open("memory:handler")) {
            InMemoryBackend backend = InMemoryBackend.last();
            AtomicReference<Throwable> err = new AtomicReference<>();
            GenerationHandle h = llm.stream("p", GenerationOptions.builder().maxTokens(5000).build(),
                    new StreamHandler() {
                        @Override
                        public void onToken(String text) {
                            throw new IllegalStateException("handler bug");
                        }

                        @Override
                        public void onComplete(Completion completion) {
                        }

                        @Override
                        public void onError(Throwable error) {
                            err.set(error);
                        }
                    });
            assertThatThrownBy(() -> h.completion().get(10, TimeUnit.SECONDS)).hasRootCauseMessage("handler bug");
            assertThat(err.get()).hasMessage("handler bug");
            assertThat(backend.activeCalls.get()).isZero();
        }
    }

    @Test
    void interruptingABlockingCallCancelsTheGeneration() throws Exception {
        try (LocalLlm llm = LocalLlm.open("memory:interrupt?hold_after=1&ctx=100000")) {
            InMemoryBackend backend = InMemoryBackend.last();
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    llm.generate("p", GenerationOptions.builder().maxTokens(5000).build());
                } catch (RuntimeException e) {
                    thrown.set(e);
                }
            });
            t.start();
            while (backend.generateCalls.get() == 0) {
                Thread.sleep(1);
            }
            t.interrupt();
            t.join(); // bounded by the class timeout: the held generation ends only if the interrupt cancelled it
            assertThat(thrown.get()).isInstanceOf(GenerationCancelledException.class);
            awaitActive(backend, 0);
        }
    }

    @Test
    void publisherMadeBeforeCloseFailsItsSubscriberAfterwards() throws Exception {
        LocalLlm llm = LocalLlm.open("memory:pub");
        Flow.Publisher<String> p = llm.publisher("p", GREEDY);
        llm.close();
        AtomicReference<Throwable> err = new AtomicReference<>();
        List<String> order = new ArrayList<>();
        p.subscribe(new Flow.Subscriber<String>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                order.add("subscribe");
                s.request(1);
            }

            @Override
            public void onNext(String item) {
                order.add("next");
            }

            @Override
            public void onError(Throwable t) {
                order.add("error");
                err.set(t);
            }

            @Override
            public void onComplete() {
                order.add("complete");
            }
        });
        assertThat(order).containsExactly("subscribe", "error");
        assertThat(err.get()).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void timingsAreMeasuredInJava() {
        try (LocalLlm llm = LocalLlm.open("memory:timed?delay_ms=2")) {
            Completion c = llm.generate("p", GREEDY);
            assertThat(c.timings().timeToFirstToken()).isPositive().isLessThan(c.timings().total());
            assertThat(c.timings().tokensPerSecond()).isPositive();
            assertThat(c.usage().completionTokens()).isEqualTo(12);
        }
    }

    @Test
    void sessionEstimatesWithoutTokenizerAndOverflowLeavesHistory() {
        try (LocalLlm llm = LocalLlm.open("memory:est?tokenize=false&ctx=200")) {
            ChatSession s = llm.newChatSession("sys", GenerationOptions.builder().maxTokens(10).build());
            assertThat(s.countTokens(List.of(ChatMessage.user("abc")))).isEqualTo(ChatSession.MESSAGE_OVERHEAD * 2 + 3);
            assertThat(s.replyRoom()).isEqualTo(10);
            s.send("hello");
            assertThatThrownBy(() -> s.send("x".repeat(200))).isInstanceOf(ContextOverflowException.class)
                    .hasMessageContaining("memory model est").hasMessageContaining("ctx");
            assertThat(s.history()).hasSize(3);
            s.close();
            assertThatThrownBy(() -> s.send("again")).isInstanceOf(IllegalStateException.class);
        }
        try (LocalLlm llm = LocalLlm.open("memory:room?ctx=400")) {
            assertThat(llm.newChatSession().replyRoom()).as("a quarter of the context by default").isEqualTo(100);
        }
    }

    @Test
    void cleanerClosesTheBackendOfAModelNobodyClosed() throws Exception {
        openAndForget();
        InMemoryBackend backend = InMemoryBackend.last();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!backend.isClosed() && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(10);
        }
        assertThat(backend.isClosed()).as("closed by the safety net").isTrue();
        assertThat(backend.closeCalls.get()).isEqualTo(1);
    }

    private static void openAndForget() {
        LocalLlm llm = LocalLlm.open("memory:forgotten");
        assertThat(llm.generate("p", GREEDY).text()).isNotEmpty();
    }

    @Test
    void cancellingAFutureOrASubscriptionStopsTheBackend() throws Exception {
        try (LocalLlm llm = LocalLlm.open("memory:cancel?hold_after=1&ctx=100000")) {
            InMemoryBackend backend = InMemoryBackend.last();
            GenerationOptions longRun = GenerationOptions.builder().maxTokens(5000).build();
            CompletableFuture<Completion> f = llm.generateAsync("p", longRun);
            awaitActive(backend, 1);
            assertThat(f.cancel(true)).isTrue();
            awaitActive(backend, 0);

            AtomicReference<Flow.Subscription> sub = new AtomicReference<>();
            CountDownLatch first = new CountDownLatch(1);
            llm.publisher("p", longRun).subscribe(new Flow.Subscriber<String>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    sub.set(s);
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(String item) {
                    first.countDown();
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onComplete() {
                }
            });
            assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
            sub.get().cancel();
            awaitActive(backend, 0);
            assertThat(backend.generateCalls.get()).isEqualTo(2);
        }
    }

    @Test
    void completingTheFutureFromOutsideCancelsTheGeneration() throws Exception {
        try (LocalLlm llm = LocalLlm.open("memory:outside?hold_after=1")) {
            InMemoryBackend backend = InMemoryBackend.last();
            GenerationOptions longRun = GenerationOptions.builder().maxTokens(500).build();
            // the held generation never ends by itself, so the timeout fires whatever the machine's speed; it is
            // armed once the generation runs, so that it cannot fire before the backend was asked
            CompletableFuture<Completion> started = llm.generateAsync("p", longRun);
            awaitActive(backend, 1);
            CompletableFuture<Completion> timed = started.orTimeout(1, TimeUnit.MILLISECONDS);
            assertThatThrownBy(timed::join).hasCauseInstanceOf(TimeoutException.class);
            awaitActive(backend, 0);

            CompletableFuture<Completion> f = llm.generateAsync("p", longRun);
            awaitActive(backend, 1);
            Completion fallback = new Completion("fallback", "", FinishReason.STOP, new Usage(0, 0),
                    new Timings(Duration.ZERO, Duration.ZERO, 0), List.of());
            assertThat(f.complete(fallback)).isTrue();
            awaitActive(backend, 0);
            assertThat(f.join()).isSameAs(fallback);
            assertThat(backend.generateCalls.get()).isEqualTo(2);
            assertThat(backend.misuse.get()).isZero();
        }
    }

    @Test
    void fillInTheMiddleIsRefusedByABackendWithoutItAndByChat() {
        try (LocalLlm llm = LocalLlm.open("memory:nofim")) {
            InMemoryBackend backend = InMemoryBackend.last();
            assertThat(llm.info().supports(Capability.FILL_IN_MIDDLE)).isFalse();
            GenerationOptions fim = GREEDY.toBuilder().suffix("}\n").build();
            assertThat(fim.suffix()).contains("}\n");
            assertThat(fim.toBuilder().clearSuffix().build()).isEqualTo(GREEDY);
            assertThat(fim).isNotEqualTo(GREEDY);
            List<ThrowingCallable> calls = List.of(() -> llm.generate("int f() {", fim),
                    () -> llm.tokens("int f() {", fim), () -> llm.publisher("int f() {", fim),
                    () -> llm.chat(List.of(ChatMessage.user("hi")), fim));
            for (int i = 0; i < calls.size(); i++) {
                assertThatThrownBy(calls.get(i)).as("call %d", i).isInstanceOfSatisfying(
                        UnsupportedCapabilityException.class,
                        e -> assertThat(e.capability()).contains(Capability.FILL_IN_MIDDLE))
                        .hasMessageContaining("memory model nofim").hasMessageContaining("fill-in-the-middle");
            }
            assertThatThrownBy(() -> llm.generate("p", fim)).hasMessageContaining("needs a model with "
                    + "fill-in-the-middle tokens");
            assertThatThrownBy(() -> llm.chat(List.of(ChatMessage.user("hi")), fim))
                    .hasMessageContaining("completion feature");
            assertThatThrownBy(() -> GenerationOptions.builder().suffix(null)).isInstanceOf(NullPointerException.class);
            assertThat(backend.generateCalls.get()).as("generations started for refused calls").isZero();
        }
    }

    @Test
    void missingCapabilitiesAreRefusedBeforeAnyBackendWork() {
        try (LocalLlm llm = LocalLlm.open("memory:bare?chat=false&seed=false&tokenize=false")) {
            InMemoryBackend backend = InMemoryBackend.last();
            List<ChatMessage> conv = List.of(ChatMessage.user("hi"));
            GenerationOptions seeded = GREEDY.toBuilder().seed(7).build();
            ChatSession session = llm.newChatSession("sys", GREEDY);
            List<ThrowingCallable> calls = List.of(() -> llm.chat(conv, GREEDY),
                    () -> llm.chatTokens(conv, GREEDY), () -> llm.chatAsync(conv, GREEDY),
                    () -> llm.chatPublisher(conv, GREEDY), () -> session.send("hi"),
                    () -> session.send("x".repeat(10_000)), () -> llm.generate("p", seeded),
                    () -> llm.tokens("p", seeded), () -> llm.tokenize("p"), () -> llm.detokenize(new int[] {1}),
                    () -> llm.countTokens("p"), () -> llm.embed("p"));
            for (int i = 0; i < calls.size(); i++) {
                assertThatThrownBy(calls.get(i)).as("call %d", i).isInstanceOf(UnsupportedCapabilityException.class)
                        .hasMessageContaining("memory model bare");
            }
            assertThat(session.history()).hasSize(1);
            assertThat(backend.generateCalls.get()).as("generations started for refused calls").isZero();
            assertThat(llm.generate("p", GREEDY).text()).as("a raw completion still works").isNotEmpty();
        }
    }

    // Waits for a condition; the deadline only keeps a broken build from hanging (a held generation that
    // was not cancelled never returns, so it cannot pass by being slow).
    private static void awaitActive(InMemoryBackend backend, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (backend.activeCalls.get() != n && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(backend.activeCalls.get()).as("generate calls running").isEqualTo(n);
    }
}
