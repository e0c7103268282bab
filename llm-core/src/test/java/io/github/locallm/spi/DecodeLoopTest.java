package io.github.locallm.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ContextOverflowException;
import io.github.locallm.FinishReason;
import io.github.locallm.GenerationOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class DecodeLoopTest {

    /** Emits a script of token texts; token id i stands for script[i]; END ends the generation. */
    private static final class Scripted implements DecodeEngine {
        static final int END = -1;
        final byte[][] pieces;
        final List<int[]> evaluated = new ArrayList<>();
        int next;
        Runnable onSample = () -> { };

        Scripted(byte[]... pieces) {
            this.pieces = pieces;
        }

        static Scripted of(String... texts) {
            byte[][] b = new byte[texts.length][];
            for (int i = 0; i < texts.length; i++) {
                b[i] = texts[i].getBytes(StandardCharsets.UTF_8);
            }
            return new Scripted(b);
        }

        @Override
        public void evaluate(int[] tokens) {
            evaluated.add(tokens);
        }

        @Override
        public int sample() {
            onSample.run();
            return next < pieces.length ? next++ : END;
        }

        @Override
        public boolean isEndOfGeneration(int token) {
            return token == END;
        }

        @Override
        public byte[] tokenBytes(int token) {
            return pieces[token];
        }
    }

    private static class Recording implements TokenSink {
        final List<String> pieces = new ArrayList<>();

        @Override
        public void token(String text) {
            assertThat(text).as("pieces are never empty").isNotEmpty();
            pieces.add(text);
        }

        String text() {
            return String.join("", pieces);
        }
    }

    private static final class Flag implements CancelSignal {
        final AtomicBoolean cancelled = new AtomicBoolean();

        @Override
        public boolean isCancelled() {
            return cancelled.get();
        }

        @Override
        public void onCancel(Runnable action) {
        }
    }

    private static GenerationOptions max(int n) {
        return GenerationOptions.builder().maxTokens(n).build();
    }

    @Test
    void endOfGenerationIsStopAndIsNotCounted() {
        Recording sink = new Recording();
        BackendResult r = DecodeLoop.plan("m", new int[] {1, 2}, 64, max(10), 0)
                .run(Scripted.of("a", "b"), sink, new Flag());
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.completionTokens()).isEqualTo(2);
        assertThat(r.promptTokens()).isEqualTo(2);
        assertThat(sink.text()).isEqualTo("ab");
    }

    @Test
    void theBudgetEndsWithLengthAndCountsEveryToken() {
        Recording sink = new Recording();
        Scripted engine = Scripted.of("a", "b", "c", "d");
        BackendResult r = DecodeLoop.plan("m", new int[] {1}, 64, max(3), 0).run(engine, sink, new Flag());
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.completionTokens()).isEqualTo(3);
        assertThat(sink.text()).isEqualTo("abc");
        assertThat(engine.evaluated.get(0)).containsExactly(1);
        assertThat(engine.evaluated).as("the prompt, then each token but the last").hasSize(3);
    }

    @Test
    void theBudgetIsCutToTheRoomLeftAndTheModelDefaultAppliesWhenUnset() {
        assertThat(DecodeLoop.plan("m", new int[] {1, 2, 3}, 8, max(100), 0).maxNewTokens()).isEqualTo(5);
        assertThat(DecodeLoop.plan("m", new int[] {1}, 8, GenerationOptions.defaults(), 0).maxNewTokens()).isEqualTo(7);
        assertThat(DecodeLoop.plan("m", new int[] {1}, 8, GenerationOptions.defaults(), 3).maxNewTokens()).isEqualTo(3);
        assertThat(DecodeLoop.plan("m", new int[] {1}, 8, max(2), 3).maxNewTokens()).isEqualTo(2);
        assertThat(DecodeLoop.plan("m", new int[] {1, 2, 3, 4, 5, 6, 7}, 8, max(5), 0).maxNewTokens()).isEqualTo(1);
    }

    @Test
    void aPromptThatFillsTheContextOverflowsWithItsCounts() {
        assertThatThrownBy(() -> DecodeLoop.plan("djl model x", new int[8], 8, max(5), 0))
                .isInstanceOfSatisfying(ContextOverflowException.class, e -> {
                    assertThat(e.promptTokens()).hasValue(8);
                    assertThat(e.requestedTokens()).hasValue(5);
                    assertThat(e.contextLength()).hasValue(8);
                    assertThat(e.getMessage()).contains("djl model x");
                });
        assertThatThrownBy(() -> DecodeLoop.plan("m", new int[0], 8, max(5), 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aStopSequenceSplitAcrossTokensEndsBeforeIt() {
        Recording sink = new Recording();
        GenerationOptions o = GenerationOptions.builder().maxTokens(20).stop(List.of("END")).build();
        BackendResult r = DecodeLoop.plan("m", new int[] {1}, 64, o, 0)
                .run(Scripted.of("one E", "N", "D two"), sink, new Flag());
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(sink.text()).isEqualTo("one ");
        assertThat(r.completionTokens()).isEqualTo(3);
    }

    @Test
    void aHeldBackStopPrefixIsSentWhenTheBudgetEnds() {
        Recording sink = new Recording();
        GenerationOptions o = GenerationOptions.builder().maxTokens(2).stop(List.of("END")).build();
        BackendResult r = DecodeLoop.plan("m", new int[] {1}, 64, o, 0)
                .run(Scripted.of("x E", "N", "D"), sink, new Flag());
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(sink.text()).isEqualTo("x EN");
    }

    @Test
    void aCharacterSplitAcrossTokensIsSentWhole() {
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        Scripted engine = new Scripted(new byte[] {'a', euro[0]}, new byte[] {euro[1]}, new byte[] {euro[2], 'b'});
        Recording sink = new Recording();
        DecodeLoop.plan("m", new int[] {1}, 64, max(10), 0).run(engine, sink, new Flag());
        assertThat(sink.pieces).containsExactly("a", "€b");
    }

    @Test
    void aDanglingPartialCharacterEndsAsReplacement() {
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        Recording sink = new Recording();
        DecodeLoop.plan("m", new int[] {1}, 64, max(10), 0)
                .run(new Scripted(new byte[] {'a', euro[0]}), sink, new Flag());
        assertThat(sink.text()).isEqualTo("a\uFFFD");
    }

    @Test
    void cancellationStopsAtTheNextTokenAndSendsNothingMore() {
        Flag cancel = new Flag();
        Scripted engine = Scripted.of("a", "b", "c", "d", "e");
        Recording sink = new Recording() {
            @Override
            public void token(String text) {
                super.token(text);
                if (pieces.size() == 2) {
                    cancel.cancelled.set(true);
                }
            }
        };
        BackendResult r = DecodeLoop.plan("m", new int[] {1}, 64, max(10), 0).run(engine, sink, cancel);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(sink.text()).isEqualTo("ab");
        assertThat(r.completionTokens()).isEqualTo(2);
        assertThat(engine.next).as("tokens sampled").isEqualTo(2);
    }

    @Test
    void aCancelBeforeTheStartEvaluatesNothing() {
        Flag cancel = new Flag();
        cancel.cancelled.set(true);
        Scripted engine = Scripted.of("a");
        BackendResult r = DecodeLoop.plan("m", new int[] {1}, 64, max(10), 0).run(engine, new Recording(), cancel);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(engine.evaluated).isEmpty();
    }
}
