package io.github.locallm.llamacpp;

import io.github.locallm.GenerationOptions;
import io.github.locallm.TokenLogprob;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.ReferenceForward;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.TokenSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Token log probabilities on the llamacpp engine equal the log-softmax of an independent double-precision
 * forward pass of the same weights, with the most likely alternatives in order.
 */
class LogprobsTest {

    @Test
    void logprobsAndTopAlternativesMatchTheReference(@TempDir Path dir) {
        CheckpointModel model = TinyModels.qwen3();
        Path file = TestModels.write(dir, "logprobs", model, GgufWriter.Quantization.F32);
        BpeTokenizer tok = model.tokenizer();
        String prompt = "The quick brown fox";
        int[] ids = tok.encode(prompt);
        int n = 8;
        int[] generated = new ReferenceForward(model).greedy(ids, n);
        int[] all = Arrays.copyOf(ids, ids.length + n);
        System.arraycopy(generated, 0, all, ids.length, n);
        double[][] logits = new ReferenceForward(model).logits(all);
        LlmBackend m = TestModels.open(file, Map.of("kv_type", "f32"));
        try {
            List<String> pieces = new ArrayList<>();
            List<TokenLogprob> entries = new ArrayList<>();
            List<Integer> piecesBeforeEntries = new ArrayList<>();
            BackendResult r = m.generate(GenerationRequest.completion(prompt, TestModels.greedy(n).toBuilder()
                    .logprobs(true).topLogprobs(3).build()), new TokenSink() {
                        @Override
                        public void token(String text) {
                            pieces.add(text);
                        }

                        @Override
                        public void logprobs(List<TokenLogprob> e) {
                            assertThat(e).isNotEmpty();
                            piecesBeforeEntries.add(pieces.size());
                            entries.addAll(e);
                        }
                    }, TestModels.NEVER);
            assertThat(r.completionTokens()).isEqualTo(n);
            assertThat(String.join("", pieces)).isEqualTo(tok.decode(generated));
            assertThat(piecesBeforeEntries).as("entries follow the piece they belong to").allMatch(k -> k > 0);
            assertThat(entries).hasSize(n);
            for (int i = 0; i < n; i++) {
                double[] row = logits[ids.length - 1 + i];
                double[] logSoftmax = logSoftmax(row);
                TokenLogprob e = entries.get(i);
                assertThat(e.logprob()).as("token " + i).isCloseTo(logSoftmax[generated[i]], within(1e-3));
                assertThat(e.token()).isEqualTo(tok.decode(new int[] {generated[i]}));
                Integer[] order = new Integer[row.length];
                for (int k = 0; k < order.length; k++) {
                    order[k] = k;
                }
                Arrays.sort(order, (a, b) -> Double.compare(row[b], row[a]));
                assertThat(e.topLogprobs()).hasSize(3);
                for (int k = 0; k < 3; k++) {
                    assertThat(e.topLogprobs().get(k).logprob()).as("alternative " + k + " of token " + i)
                            .isCloseTo(logSoftmax[order[k]], within(1e-3));
                    assertThat(e.topLogprobs().get(k).token()).isEqualTo(tok.decode(new int[] {order[k]}));
                }
                // greedy: the token chosen is the most likely one
                assertThat(e.logprob()).isCloseTo(e.topLogprobs().get(0).logprob(), within(1e-9));
            }
            // without topLogprobs, entries come without alternatives
            List<TokenLogprob> plain = new ArrayList<>();
            m.generate(GenerationRequest.completion(prompt, TestModels.greedy(2).toBuilder().logprobs(true).build()),
                    new TokenSink() {
                        @Override
                        public void token(String text) {
                        }

                        @Override
                        public void logprobs(List<TokenLogprob> e) {
                            plain.addAll(e);
                        }
                    }, TestModels.NEVER);
            assertThat(plain).hasSize(2).allMatch(e -> e.topLogprobs().isEmpty());
        } finally {
            m.close();
        }
    }

    @Test
    void theJllamaEngineRefusesLogprobs(@TempDir Path dir) {
        Path file = TestModels.write(dir, "jllama", TinyModels.llama(), GgufWriter.Quantization.F32);
        LlmBackend m = TestModels.open(file, Map.of("engine", LoadSettings.ENGINE_JLLAMA));
        try {
            GenerationOptions o = TestModels.greedy(2).toBuilder().logprobs(true).build();
            assertThatThrownBy(() -> TestModels.complete(m, "x", o))
                    .isInstanceOf(UnsupportedCapabilityException.class).hasMessageContaining("jllama");
        } finally {
            m.close();
        }
    }

    private static double[] logSoftmax(double[] row) {
        double max = Arrays.stream(row).max().orElseThrow();
        double sum = 0;
        for (double v : row) {
            sum += Math.exp(v - max);
        }
        double log = max + Math.log(sum);
        double[] out = new double[row.length];
        for (int i = 0; i < row.length; i++) {
            out[i] = row[i] - log;
        }
        return out;
    }
}
