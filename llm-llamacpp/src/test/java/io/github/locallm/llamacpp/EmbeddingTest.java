package io.github.locallm.llamacpp;

import io.github.locallm.Capability;
import io.github.locallm.LocalLlm;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class EmbeddingTest {

    @Test
    void lastAndClsPoolingGiveNormalizedSentenceVectors(@TempDir Path dir) {
        Path file = TestModels.write(dir, "embed", TinyModels.qwen2Bias(), GgufWriter.Quantization.F32);
        for (String pooling : List.of("last", "cls", "mean")) {
            LlmBackend m = TestModels.open(file, Map.of("embedding", "true", "pooling", pooling));
            try {
                assertThat(m.info().capabilities()).contains(Capability.EMBEDDINGS).doesNotContain(Capability.COMPLETION);
                List<float[]> v = m.embed(List.of("The quick brown fox", "The quick brown fox", "A lazy dog sleeps"));
                assertThat(v).hasSize(3);
                assertThat(v.get(0)).hasSize(64).containsExactly(v.get(1));
                assertThat(v.get(2)).isNotEqualTo(v.get(0));
                double norm = 0;
                for (float x : v.get(0)) {
                    norm += x * x;
                }
                assertThat(Math.sqrt(norm)).isCloseTo(1.0, within(1e-3));
                float[] blank = m.embed(List.of(" ")).get(0);
                assertThat(blank).hasSize(64);
                assertThatThrownBy(() -> m.embed(List.of(""))).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("empty");
            } finally {
                m.close();
            }
            // core refuses what the model does not claim, before the backend is reached
            try (LocalLlm llm = LocalLlm.open("llamacpp:" + file + "?embedding=true&pooling=" + pooling)) {
                assertThatThrownBy(() -> llm.generate("x", TestModels.greedy(2)))
                        .isInstanceOfSatisfying(UnsupportedCapabilityException.class,
                                e -> assertThat(e.capability()).contains(Capability.COMPLETION));
            }
        }
        float[] last = embedOnce(file, "last", "one two three");
        float[] cls = embedOnce(file, "cls", "one two three");
        assertThat(last).as("LAST and CLS pool different tokens").isNotEqualTo(cls);
        assertThat(embedOnce(file, "mean", "one two three")).as("MEAN pools every token").isNotEqualTo(last)
                .isNotEqualTo(cls);
        float[] lastOfPrefix = embedOnce(file, "last", "one two");
        assertThat(last).as("LAST pooling depends on the whole text").isNotEqualTo(lastOfPrefix);
    }

    private static float[] embedOnce(Path file, String pooling, String text) {
        LlmBackend m = TestModels.open(file, Map.of("embedding", "true", "pooling", pooling));
        try {
            return m.embed(List.of(text)).get(0);
        } finally {
            m.close();
        }
    }

    @Test
    void generationModelsRefuseEmbeddings(@TempDir Path dir) {
        Path file = TestModels.write(dir, "gen", TinyModels.llama(), GgufWriter.Quantization.F32);
        try (LocalLlm llm = LocalLlm.open("llamacpp:" + file)) {
            assertThatThrownBy(() -> llm.embed(List.of("x")))
                    .isInstanceOfSatisfying(UnsupportedCapabilityException.class,
                            e -> assertThat(e.capability()).contains(Capability.EMBEDDINGS));
        }
    }
}
