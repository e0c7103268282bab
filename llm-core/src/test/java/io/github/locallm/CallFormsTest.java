package io.github.locallm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.github.locallm.memory.InMemoryBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The documented cancellation surface of each call form, and the stack traces of blocking calls.
 *
 * <p>Every generation that must still run when it is cancelled is held by the in-memory backend
 * ({@code hold_after=1}) until it is cancelled, so a cancel that does not reach it never returns (caught by
 * the bounded waits) instead of passing by being fast.
 */
@Timeout(60)
class CallFormsTest {
    private static final GenerationOptions LONG = GenerationOptions.builder().temperature(0).maxTokens(5000).build();
    private static final String HELD = "?hold_after=1&ctx=100000";

    private static void awaitGenerating(InMemoryBackend backend) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (backend.activeCalls.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(backend.activeCalls.get()).as("generations running").isPositive();
    }

    private static boolean mentions(Throwable t, String method) {
        return Arrays.stream(t.getStackTrace()).anyMatch(f -> f.getMethodName().equals(method));
    }

    // ---- blocking ----

    @Test
    void aBlockingFailureIsRethrownWithTheCallersStackTrace() {
        try (LocalLlm llm = LocalLlm.open("memory:failing?fail_after=3")) {
            Throwable t = catchThrowable(() -> callerOfGenerate(llm));
            assertThat(t).isExactlyInstanceOf(LlmException.class).hasMessageContaining("failed on purpose after 3");
            assertThat(mentions(t, "callerOfGenerate")).as("the caller's method in %s", Arrays.toString(
                    t.getStackTrace())).isTrue();
            assertThat(t.getCause()).as("the original failure, thrown on the generation thread")
                    .isExactlyInstanceOf(LlmException.class).hasMessage(t.getMessage());
            assertThat(mentions(t.getCause(), "callerOfGenerate")).isFalse();
        }
        try (LocalLlm llm = LocalLlm.open("memory:tiny?ctx=16")) {
            Throwable t = catchThrowable(() -> callerOfChat(llm));
            assertThat(t).isExactlyInstanceOf(ContextOverflowException.class);
            assertThat(mentions(t, "callerOfChat")).isTrue();
            ContextOverflowException e = (ContextOverflowException) t;
            assertThat(e.contextLength()).as("the fields travel with the copy").hasValue(16);
            assertThat(e.promptTokens()).isPresent();
            assertThat(e.getCause()).isExactlyInstanceOf(ContextOverflowException.class);
        }
    }

    private static void callerOfGenerate(LocalLlm llm) {
        llm.generate("p", GenerationOptions.builder().temperature(0).maxTokens(12).build());
    }

    private static void callerOfChat(LocalLlm llm) {
        llm.chat(List.of(ChatMessage.user("a message far longer than sixteen tokens")),
                GenerationOptions.builder().maxTokens(2).build());
    }

    @Test
    void blockingCallsAreCancelledByInterruptOrCloseAndThrowGenerationCancelled() throws Exception {
        for (boolean byClose : new boolean[] {false, true}) {
            LocalLlm llm = LocalLlm.open("memory:blocking" + HELD);
            InMemoryBackend backend = InMemoryBackend.last();
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicReference<Boolean> interruptKept = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    llm.generate("p", LONG);
                } catch (RuntimeException e) {
                    thrown.set(e);
                    interruptKept.set(Thread.currentThread().isInterrupted());
                }
            });
            t.start();
            awaitGenerating(backend);
            if (byClose) {
                llm.close();
            } else {
                t.interrupt();
            }
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(t.isAlive()).isFalse();
            assertThat(thrown.get()).as("cancelled by %s", byClose ? "close" : "interrupt")
                    .isInstanceOf(GenerationCancelledException.class);
            assertThat(interruptKept.get()).as("interrupt status after the call").isEqualTo(!byClose);
            llm.close();
        }
    }

    // ---- callback ----

    @Test
    void callbackGenerationsAreCancelledByTheirHandleOrCloseAndCompleteCancelled() throws Exception {
        for (boolean byClose : new boolean[] {false, true}) {
            LocalLlm llm = LocalLlm.open("memory:callback" + HELD);
            InMemoryBackend backend = InMemoryBackend.last();
            List<Object> events = new CopyOnWriteArrayList<>();
            CountDownLatch terminal = new CountDownLatch(1);
            GenerationHandle h = llm.stream("p", LONG, new StreamHandler() {
                @Override
                public void onToken(String text) {
                }

                @Override
                public void onComplete(Completion completion) {
                    events.add(completion.finishReason());
                    terminal.countDown();
                }

                @Override
                public void onError(Throwable error) {
                    events.add(error);
                    terminal.countDown();
                }
            });
            awaitGenerating(backend);
            if (byClose) {
                llm.close();
            } else {
                h.cancel();
            }
            assertThat(terminal.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(events).containsExactly(FinishReason.CANCELLED);
            assertThat(h.completion().get(30, TimeUnit.SECONDS).finishReason()).isEqualTo(FinishReason.CANCELLED);
            llm.close();
        }
    }

    // ---- iterator ----

    @Test
    void iteratorsAreCancelledByCloseAndTheirCompletionIsCancelled() throws Exception {
        for (boolean byModelClose : new boolean[] {false, true}) {
            LocalLlm llm = LocalLlm.open("memory:iterator" + HELD);
            TokenStream tokens = llm.tokens("p", LONG);
            assertThat(tokens.next()).isNotEmpty();
            if (byModelClose) {
                llm.close();
                while (tokens.hasNext()) {
                    tokens.next();
                }
            } else {
                tokens.close();
            }
            assertThat(tokens.hasNext()).isFalse();
            assertThat(tokens.completion().finishReason()).isEqualTo(FinishReason.CANCELLED);
            tokens.close();
            llm.close();
        }
    }

    @Test
    void anInterruptedReaderGetsGenerationCancelled() throws Exception {
        try (LocalLlm llm = LocalLlm.open("memory:reader" + HELD)) {
            InMemoryBackend backend = InMemoryBackend.last();
            TokenStream tokens = llm.tokens("p", LONG);
            assertThat(tokens.next()).isNotEmpty();
            Thread.currentThread().interrupt();
            assertThatThrownBy(tokens::hasNext).isInstanceOf(GenerationCancelledException.class);
            assertThat(Thread.interrupted()).as("interrupt status kept").isTrue();
            tokens.close();
            assertThat(backend.activeCalls.get()).isZero();
        }
    }

    // ---- publisher ----

    @Test
    void subscriptionsAreCancelledSilentlyAndACloseIsAnError() throws Exception {
        for (boolean byClose : new boolean[] {false, true}) {
            LocalLlm llm = LocalLlm.open("memory:publisher" + HELD);
            InMemoryBackend backend = InMemoryBackend.last();
            List<Object> signals = new CopyOnWriteArrayList<>();
            AtomicReference<Flow.Subscription> sub = new AtomicReference<>();
            CountDownLatch terminal = new CountDownLatch(1);
            llm.publisher("p", LONG).subscribe(new Flow.Subscriber<String>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    sub.set(s);
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(String item) {
                }

                @Override
                public void onError(Throwable t) {
                    signals.add(t);
                    terminal.countDown();
                }

                @Override
                public void onComplete() {
                    signals.add("complete");
                    terminal.countDown();
                }
            });
            awaitGenerating(backend);
            if (byClose) {
                llm.close();
                assertThat(terminal.await(30, TimeUnit.SECONDS)).isTrue();
                assertThat(signals).hasSize(1);
                assertThat(signals.get(0)).isInstanceOf(GenerationCancelledException.class);
            } else {
                sub.get().cancel();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (backend.activeCalls.get() != 0 && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
                assertThat(backend.activeCalls.get()).as("the generation stopped").isZero();
                Thread.sleep(20);
                assertThat(signals).as("no signal after cancel (Reactive Streams 3.7)").isEmpty();
            }
            llm.close();
        }
    }

    // ---- future ----

    @Test
    void futuresAreCancelledByCancelOrCloseAndReportCancellationException() throws Exception {
        for (boolean byClose : new boolean[] {false, true}) {
            LocalLlm llm = LocalLlm.open("memory:future" + HELD);
            InMemoryBackend backend = InMemoryBackend.last();
            CompletableFuture<Completion> f = llm.generateAsync("p", LONG);
            awaitGenerating(backend);
            if (byClose) {
                llm.close();
            } else {
                assertThat(f.cancel(true)).isTrue();
            }
            assertThatThrownBy(() -> f.get(30, TimeUnit.SECONDS)).isInstanceOf(CancellationException.class);
            assertThat(f.isCancelled()).isTrue();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (backend.activeCalls.get() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(backend.activeCalls.get()).as("the generation stopped").isZero();
            llm.close();
        }
    }

    @Test
    void cancellingTheFutureOfAHandleCancelsTheGenerationAndTheHandlerSeesIt() throws Exception {
        try (LocalLlm llm = LocalLlm.open("memory:handle" + HELD)) {
            InMemoryBackend backend = InMemoryBackend.last();
            List<FinishReason> reasons = new ArrayList<>();
            CountDownLatch terminal = new CountDownLatch(1);
            GenerationHandle h = llm.stream("p", LONG, new StreamHandler() {
                @Override
                public void onToken(String text) {
                }

                @Override
                public void onComplete(Completion completion) {
                    reasons.add(completion.finishReason());
                    terminal.countDown();
                }

                @Override
                public void onError(Throwable error) {
                    terminal.countDown();
                }
            });
            CompletableFuture<Completion> f = h.completion();
            CompletableFuture<Completion> other = h.completion();
            awaitGenerating(backend);
            assertThat(f.cancel(true)).isTrue();
            assertThat(terminal.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(reasons).containsExactly(FinishReason.CANCELLED);
            assertThatThrownBy(f::join).isInstanceOf(CancellationException.class);
            assertThat(other.get(30, TimeUnit.SECONDS).finishReason()).as("another future of the same handle")
                    .isEqualTo(FinishReason.CANCELLED);
        }
    }

    // ---- chat session ----

    @Test
    void historyIsASnapshotWhileAStreamedTurnRuns() throws Exception {
        try (LocalLlm llm = LocalLlm.open("memory:session?delay_ms=1")) {
            ChatSession chat = llm.newChatSession("sys", GenerationOptions.builder().temperature(0).maxTokens(40)
                    .build());
            chat.send("first");
            List<ChatMessage> before = chat.history();
            assertThat(before).hasSize(3);
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            List<Integer> sizes = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            List<Thread> readers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Thread r = new Thread(() -> {
                    while (done.getCount() > 0) {
                        try {
                            List<ChatMessage> h = chat.history();
                            sizes.add(h.size());
                            if (h.size() == 3) {
                                assertThat(h).isEqualTo(before);
                            } else {
                                assertThat(h.subList(0, 3)).isEqualTo(before);
                                assertThat(h.get(3).content()).isEqualTo("second");
                            }
                        } catch (Throwable t) {
                            failures.add(t);
                            return;
                        }
                    }
                });
                r.start();
                readers.add(r);
            }
            CountDownLatch firstPiece = new CountDownLatch(1);
            CountDownLatch checked = new CountDownLatch(1);
            GenerationHandle handle = chat.stream("second", new StreamHandler() {
                @Override
                public void onToken(String text) {
                    if (firstPiece.getCount() > 0) {
                        firstPiece.countDown();
                        try {
                            // holds the turn until the test looked at the session
                            checked.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }

                @Override
                public void onComplete(Completion completion) {
                }

                @Override
                public void onError(Throwable error) {
                }
            });
            assertThat(firstPiece.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(chat.history()).as("while the turn streams").isEqualTo(before);
            assertThatThrownBy(chat::reset).as("reset while a turn streams").isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> chat.send("third")).isInstanceOf(IllegalStateException.class);
            checked.countDown();
            Completion c = handle.completion().get(30, TimeUnit.SECONDS);
            done.countDown();
            for (Thread r : readers) {
                r.join(TimeUnit.SECONDS.toMillis(30));
            }
            assertThat(failures).isEmpty();
            assertThat(sizes).as("snapshots taken").isNotEmpty().allMatch(n -> n == 3 || n == 5);
            List<ChatMessage> after = chat.history();
            assertThat(after).hasSize(5);
            assertThat(after.get(4).content()).isEqualTo(c.text());
            chat.reset();
            assertThat(chat.history()).hasSize(1);
        }
    }
}
