package io.github.locallm.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.Completion;
import io.github.locallm.FinishReason;
import io.github.locallm.Timings;
import io.github.locallm.Usage;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The future of a generation and its cancel signal, without threads: every order is forced. */
class CompletionFutureTest {
    private static Completion completion(String text, FinishReason reason) {
        return new Completion(text, "", reason, new Usage(1, 1), new Timings(Duration.ZERO, Duration.ZERO, 0),
                List.of());
    }

    @Test
    void cancelReturnsTrueEvenWhenTheGenerationStopsInsideTheSignal() {
        Cancellation signal = new Cancellation();
        CompletionFuture f = new CompletionFuture(signal);
        // a backend that stops at once: its cancel action delivers the cancelled result on the spot
        signal.onCancel(() -> f.onComplete(completion("partial", FinishReason.CANCELLED)));
        assertThat(f.cancel(true)).isTrue();
        assertThat(f.isCancelled()).isTrue();
        assertThat(signal.isCancelled()).isTrue();
        assertThatThrownBy(f::join).isInstanceOf(CancellationException.class);
    }

    @Test
    void cancelAfterTheResultKeepsTheResult() {
        Cancellation signal = new Cancellation();
        CompletionFuture f = new CompletionFuture(signal);
        Completion done = completion("all", FinishReason.LENGTH);
        f.onComplete(done);
        assertThat(signal.isCancelled()).as("the generation's own result does not cancel it").isFalse();
        assertThat(f.cancel(true)).isFalse();
        assertThat(f.isCancelled()).isFalse();
        assertThat(f.join()).isSameAs(done);
    }

    @Test
    void theGenerationsOwnFailureDoesNotSignalButOutsideCompletionDoes() {
        Cancellation own = new Cancellation();
        CompletionFuture failed = new CompletionFuture(own);
        failed.onError(new IllegalStateException("backend failed"));
        assertThat(own.isCancelled()).isFalse();
        assertThat(failed.isCompletedExceptionally()).isTrue();

        Cancellation outside = new Cancellation();
        CompletionFuture timedOut = new CompletionFuture(outside);
        assertThat(timedOut.completeExceptionally(new TimeoutException())).isTrue();
        assertThat(outside.isCancelled()).isTrue();
        timedOut.onComplete(completion("late", FinishReason.CANCELLED));
        assertThat(timedOut.isCompletedExceptionally()).as("the late result is ignored").isTrue();

        Cancellation replaced = new Cancellation();
        CompletionFuture f = new CompletionFuture(replaced);
        assertThat(f.complete(completion("fallback", FinishReason.STOP))).isTrue();
        assertThat(replaced.isCancelled()).isTrue();
    }
}
