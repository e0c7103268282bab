package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.ReferenceForward;
import io.github.locallm.modelkit.Tensor;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The pooling types without a sentence vector, on the llamacpp engine, against an independent double-precision
 * forward pass of the same weights: {@code none} gives every token's final hidden state, {@code rank} a
 * reranker's classifier outputs.
 */
class PoolingTest {

    private static final List<String> TEXTS = List.of("The quick brown fox", "Hello, world! How are you");

    @Test
    void noneGivesEveryTokensHiddenStateAndTheSentencePoolingsFollowFromIt(@TempDir Path dir) {
        CheckpointModel model = TinyModels.qwen3();
        Path file = TestModels.write(dir, "none", model, GgufWriter.Quantization.F32);
        BpeTokenizer tok = model.tokenizer();
        ReferenceForward reference = new ReferenceForward(model);
        int width = model.config().hiddenSize();
        LlmBackend none = TestModels.open(file, Map.of("embedding", "true", "pooling", "none", "kv_type", "f32"));
        LlmBackend mean = TestModels.open(file, Map.of("embedding", "true", "pooling", "mean", "kv_type", "f32"));
        LlmBackend last = TestModels.open(file, Map.of("embedding", "true", "pooling", "last", "kv_type", "f32"));
        try {
            assertThat(none.info().details()).containsEntry("pooling", "none")
                    .containsEntry("embedding_dimension", Integer.toString(width));
            List<float[]> vectors = none.embed(TEXTS);
            for (int t = 0; t < TEXTS.size(); t++) {
                int[] ids = tok.encode(TEXTS.get(t));
                assertThat(none.tokenize(TEXTS.get(t))).containsExactly(ids);
                double[][] expected = reference.hiddenStates(ids);
                float[] got = vectors.get(t);
                assertThat(got).as("one vector per token").hasSize(ids.length * width);
                for (int i = 0; i < ids.length; i++) {
                    for (int j = 0; j < width; j++) {
                        assertThat((double) got[i * width + j]).as(TEXTS.get(t) + " token " + i + " element " + j)
                                .isCloseTo(expected[i][j], within(1e-3 * (1 + Math.abs(expected[i][j]))));
                    }
                }
                // the caller's own pooling of the token vectors gives what llama.cpp's pooling gives
                float[] meanOfRows = new float[width];
                for (int i = 0; i < ids.length; i++) {
                    for (int j = 0; j < width; j++) {
                        meanOfRows[j] += got[i * width + j] / ids.length;
                    }
                }
                assertClose(normalized(meanOfRows), mean.embed(List.of(TEXTS.get(t))).get(0), 1e-4);
                float[] lastRow = java.util.Arrays.copyOfRange(got, (ids.length - 1) * width, ids.length * width);
                assertClose(normalized(lastRow), last.embed(List.of(TEXTS.get(t))).get(0), 1e-4);
            }
        } finally {
            none.close();
            mean.close();
            last.close();
        }
    }

    @Test
    void rankGivesTheClassifierHeadsScores(@TempDir Path dir) throws IOException {
        CheckpointModel model = TinyModels.qwen3();
        BpeTokenizer tok = model.tokenizer();
        int width = model.config().hiddenSize();
        // A Qwen3 reranker's head: the output rows of two tokens ("yes" and "no"), softmaxed by llama.cpp.
        float[] head = model.tensors().get(model.config().tieWordEmbeddings() ? "model.embed_tokens.weight"
                : "lm_head.weight").data();
        int yes = 17;
        int no = 42;
        float[] cls = new float[2 * width];
        System.arraycopy(head, yes * width, cls, 0, width);
        System.arraycopy(head, no * width, cls, width, width);
        Path file = dir.resolve("rank.gguf");
        GgufWriter.write(model, file, GgufWriter.Quantization.F32,
                Map.of("qwen3.classifier.output_labels", List.of("yes", "no")),
                List.of(new Tensor("cls.output.weight", new long[] {2, width}, cls)));
        ReferenceForward reference = new ReferenceForward(model);
        LlmBackend m = TestModels.open(file, Map.of("embedding", "true", "pooling", "rank", "kv_type", "f32"));
        try {
            assertThat(m.info().details()).containsEntry("pooling", "rank").containsEntry("classifier_outputs", "2")
                    .containsEntry("classifier_labels", "yes,no");
            List<float[]> scores = m.embed(TEXTS);
            double[] expectedYes = new double[TEXTS.size()];
            for (int t = 0; t < TEXTS.size(); t++) {
                double[][] logits = reference.logits(tok.encode(TEXTS.get(t)));
                double[] lastLogits = logits[logits.length - 1];
                double max = Math.max(lastLogits[yes], lastLogits[no]);
                double ey = Math.exp(lastLogits[yes] - max);
                double en = Math.exp(lastLogits[no] - max);
                expectedYes[t] = ey / (ey + en);
                assertThat(scores.get(t)).as(TEXTS.get(t)).hasSize(2);
                assertThat((double) scores.get(t)[0]).as("p(yes) of " + TEXTS.get(t)).isCloseTo(expectedYes[t],
                        within(1e-4));
                assertThat((double) scores.get(t)[1]).as("p(no) of " + TEXTS.get(t)).isCloseTo(1 - expectedYes[t],
                        within(1e-4));
            }
            assertThat(Math.abs(expectedYes[0] - expectedYes[1])).as("the two texts score apart")
                    .isGreaterThan(1e-3);
        } finally {
            m.close();
        }
        // the same file opened for generation still generates (the head is unused there)
        LlmBackend g = TestModels.open(file, Map.of());
        try {
            assertThat(TestModels.complete(g, "The quick brown fox", TestModels.greedy(4)).result()
                    .completionTokens()).isEqualTo(4);
        } finally {
            g.close();
        }
    }

    @Test
    void thePoolingTheModelDeclaresIsTheDefault(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("declares-mean.gguf");
        GgufWriter.write(TinyModels.qwen3(), file, GgufWriter.Quantization.F32, Map.of("qwen3.pooling_type", 1));
        float[] declared;
        LlmBackend m = TestModels.open(file, Map.of("embedding", "true"));
        try {
            assertThat(m.info().details()).containsEntry("pooling", "mean");
            declared = m.embed(List.of(TEXTS.get(0))).get(0);
        } finally {
            m.close();
        }
        float[] mean = embedOnce(file, Map.of("embedding", "true", "pooling", "mean"));
        float[] last = embedOnce(file, Map.of("embedding", "true", "pooling", "last"));
        assertThat(declared).containsExactly(mean).isNotEqualTo(last);
        // a pooling given explicitly wins
        LlmBackend explicit = TestModels.open(file, Map.of("embedding", "true", "pooling", "last"));
        try {
            assertThat(explicit.info().details()).containsEntry("pooling", "last");
        } finally {
            explicit.close();
        }
        // the jllama engine cannot apply MEAN: it uses LAST, as it did before the model declared anything
        Path llama = dir.resolve("llama-declares-mean.gguf");
        GgufWriter.write(TinyModels.llama(), llama, GgufWriter.Quantization.F32, Map.of("llama.pooling_type", 1));
        Path plain = TestModels.write(dir, "llama-plain", TinyModels.llama(), GgufWriter.Quantization.F32);
        Map<String, String> jllama = Map.of("embedding", "true", "engine", LoadSettings.ENGINE_JLLAMA);
        assertThat(embedOnce(llama, jllama)).containsExactly(embedOnce(plain, jllama));
    }

    private static float[] embedOnce(Path file, Map<String, String> settings) {
        LlmBackend m = TestModels.open(file, settings);
        try {
            return m.embed(List.of(TEXTS.get(0))).get(0);
        } finally {
            m.close();
        }
    }

    @Test
    void rankWithoutAClassifierHeadAndTheJllamaEngineAreRefused(@TempDir Path dir) {
        Path file = TestModels.write(dir, "plain", TinyModels.qwen3(), GgufWriter.Quantization.F32);
        assertThatThrownBy(() -> TestModels.open(file, Map.of("embedding", "true", "pooling", "rank")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cls.output.weight")
                .hasMessageContaining(file.toString());
        Path llama = TestModels.write(dir, "llama", TinyModels.llama(), GgufWriter.Quantization.F32);
        for (String pooling : List.of("none", "rank", "mean")) {
            assertThatThrownBy(() -> TestModels.open(llama, Map.of("embedding", "true", "pooling", pooling,
                    "engine", LoadSettings.ENGINE_JLLAMA))).as(pooling)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pooling=" + pooling);
        }
    }

    private static float[] normalized(float[] v) {
        double norm = 0;
        for (float x : v) {
            norm += (double) x * x;
        }
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] / Math.sqrt(norm));
        }
        return out;
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("element " + i).isCloseTo(expected[i], within(tolerance));
        }
    }
}
