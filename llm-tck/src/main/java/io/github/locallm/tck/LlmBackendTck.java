package io.github.locallm.tck;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.TokenSink;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The SPI TCK: what an {@link LlmBackend} must do when called directly, without {@code LocalLlm} in between
 * to drop empty pieces, wrap a missing result or ignore pieces sent after {@code generate} returned.
 *
 * <p>A backend adopts it with one subclass in its tests that opens a small model directly through its
 * provider:
 *
 * <pre>{@code
 * class MyBackendSpiTckTest extends LlmBackendTck {
 *     @Override
 *     protected LlmBackend openBackend() {
 *         return new MyProvider().open(new OpenRequest(ModelSpec.parse("mine:" + tinyModel()), Map.of()));
 *     }
 * }
 * }</pre>
 *
 * <p>The suite uses raw completions and greedy decoding, so the model must claim
 * {@link io.github.locallm.Capability#COMPLETION} and produce at least {@link #longRunTokens()} tokens without
 * ending on its own. Cancellation is tested by a sink that cancels from inside {@link TokenSink#token}: the
 * generation is held at a known point, so a backend that ignores the signal runs to its end and fails.
 *
 * <p>Not thread-safe; JUnit runs it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class LlmBackendTck {
    private LlmBackend backend;

    /** Creates the suite; a subclass names the backend. */
    protected LlmBackendTck() {
    }

    /** @return a new, open backend on a small model; closed by the suite */
    protected abstract LlmBackend openBackend();

    /** @return the raw prompt of the suite */
    protected String prompt() {
        return "Once upon a time";
    }

    /** @return tokens of the short generations */
    protected int maxTokens() {
        return 16;
    }

    /** @return tokens of the generations that get cancelled; the model must not end on its own before */
    protected int longRunTokens() {
        return 200;
    }

    /** @return most pieces allowed after the sink asked for cancellation */
    protected int cancelSlack() {
        return 1;
    }

    @BeforeAll
    void openSharedBackend() {
        backend = openBackend();
        assertThat(backend).as("openBackend()").isNotNull();
    }

    @AfterAll
    void closeSharedBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    /** @return the backend shared by the suite */
    protected final LlmBackend backend() {
        return backend;
    }

    private static GenerationOptions greedy(int n) {
        return GenerationOptions.builder().temperature(0.0).maxTokens(n).build();
    }

    /** A sink that records every piece and notes pieces that arrive after {@code generate} returned. */
    protected static class RecordingSink implements TokenSink {
        private final List<String> pieces = new CopyOnWriteArrayList<>();
        private final AtomicBoolean returned = new AtomicBoolean();
        private final List<String> late = new CopyOnWriteArrayList<>();

        /** Creates an empty sink. */
        public RecordingSink() {
        }

        @Override
        public void token(String text) {
            if (returned.get()) {
                late.add(text);
            }
            pieces.add(text);
        }

        /** Marks the return of {@code generate}: pieces after it are a violation. */
        void markReturned() {
            returned.set(true);
        }

        /** @return the pieces in order */
        public List<String> pieces() {
            return new ArrayList<>(pieces);
        }

        /** @return the pieces joined */
        public String text() {
            return String.join("", pieces);
        }

        /** @return pieces received after generate returned */
        public List<String> late() {
            return new ArrayList<>(late);
        }
    }

    /** A cancel signal the test sets. */
    protected static final class Flag implements CancelSignal {
        private final AtomicBoolean cancelled = new AtomicBoolean();
        private final List<Runnable> actions = new CopyOnWriteArrayList<>();

        /** Creates a signal that is not set. */
        public Flag() {
        }

        /** Sets the signal and runs the registered actions. */
        public void cancel() {
            if (cancelled.compareAndSet(false, true)) {
                actions.forEach(Runnable::run);
            }
        }

        @Override
        public boolean isCancelled() {
            return cancelled.get();
        }

        @Override
        public void onCancel(Runnable action) {
            actions.add(action);
            if (cancelled.get()) {
                action.run();
            }
        }
    }

    private BackendResult run(GenerationOptions o, RecordingSink sink, Flag cancel) throws InterruptedException {
        BackendResult r = backend.generate(GenerationRequest.completion(prompt(), o), sink, cancel);
        sink.markReturned();
        // late pieces from a thread the backend left running would show up now
        Thread.sleep(50);
        return r;
    }

    @Test
    void aGenerationReportsAConsistentResultAndNeverSendsEmptyPieces() throws Exception {
        RecordingSink sink = new RecordingSink();
        BackendResult r = run(greedy(maxTokens()), sink, new Flag());
        assertThat(r).as("the result of generate").isNotNull();
        assertThat(r.finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
        assertThat(r.promptTokens()).as("prompt tokens").isPositive();
        assertThat(r.completionTokens()).as("completion tokens").isBetween(0, maxTokens());
        if (r.finishReason() == FinishReason.LENGTH) {
            assertThat(r.completionTokens()).as("LENGTH means the budget was spent").isEqualTo(maxTokens());
        }
        assertThat(sink.pieces()).as("pieces").allSatisfy(p -> assertThat(p).isNotEmpty());
        assertThat(sink.text()).as("greedy output").isNotEmpty();
        assertThat(sink.late()).as("pieces after generate returned").isEmpty();
    }

    @Test
    void greedyGenerationIsRepeatable() throws Exception {
        RecordingSink a = new RecordingSink();
        RecordingSink b = new RecordingSink();
        run(greedy(maxTokens()), a, new Flag());
        run(greedy(maxTokens()), b, new Flag());
        assertThat(b.text()).isEqualTo(a.text());
    }

    @Test
    void aCancelFromTheSinkEndsTheGenerationCancelled() throws Exception {
        Flag cancel = new Flag();
        RecordingSink sink = new RecordingSink() {
            @Override
            public void token(String text) {
                super.token(text);
                if (pieces().size() == 2) {
                    cancel.cancel();
                }
            }
        };
        BackendResult r = run(greedy(longRunTokens()), sink, cancel);
        assertThat(r.finishReason()).as("finish reason after a cancel at the second piece (%s)", sink.pieces())
                .isEqualTo(FinishReason.CANCELLED);
        assertThat(sink.pieces().size()).as("pieces after the cancel").isLessThanOrEqualTo(2 + cancelSlack());
        assertThat(r.completionTokens()).as("tokens of the cancelled generation").isLessThan(longRunTokens());
        assertThat(sink.late()).as("pieces after generate returned").isEmpty();
    }

    @Test
    void aCancelBeforeTheStartSendsNothing() throws Exception {
        Flag cancel = new Flag();
        cancel.cancel();
        RecordingSink sink = new RecordingSink();
        BackendResult r = run(greedy(longRunTokens()), sink, cancel);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(sink.pieces()).as("pieces of a generation cancelled before it started").isEmpty();
    }

    @Test
    void aStopSequenceSplitAcrossPiecesEndsBeforeIt() throws Exception {
        RecordingSink reference = new RecordingSink();
        run(greedy(maxTokens() * 2), reference, new Flag());
        List<String> pieces = reference.pieces();
        String text = reference.text();
        // a stop sequence made of the end of one piece and the start of the next, found first at that boundary
        int boundary = 0;
        String stop = null;
        for (int i = 0; i + 1 < pieces.size() && stop == null; i++) {
            boundary += pieces.get(i).length();
            String before = pieces.get(i);
            String after = pieces.get(i + 1);
            String candidate = before.substring(before.length() - Character.charCount(before.codePointBefore(
                    before.length()))) + after.substring(0, Character.charCount(after.codePointAt(0)));
            int at = boundary - (candidate.length() - Character.charCount(after.codePointAt(0)));
            if (text.indexOf(candidate) == at && at > 0) {
                stop = candidate;
            }
        }
        assertThat(stop).as("a stop sequence across two pieces of %s", pieces).isNotNull();
        int at = text.indexOf(stop);
        RecordingSink sink = new RecordingSink();
        GenerationOptions o = greedy(maxTokens() * 2).toBuilder().stop(List.of(stop)).build();
        BackendResult r = run(o, sink, new Flag());
        assertThat(r.finishReason()).as("finish reason with stop %s", stop).isEqualTo(FinishReason.STOP);
        assertThat(sink.text()).as("text before the stop sequence %s", stop).isEqualTo(text.substring(0, at));
    }
}
