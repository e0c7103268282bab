package io.github.locallm.llamacpp;

import io.github.locallm.Capability;
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
        for (String pooling : List.of("last", "cls")) {
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
                assertThatThrownBy(() -> TestModels.complete(m, "x", TestModels.greedy(2)))
                        .isInstanceOf(UnsupportedCapabilityException.class).hasMessageContaining("embedding");
            } finally {
                m.close();
            }
        }
        float[] last = embedOnce(file, "last", "one two three");
        float[] cls = embedOnce(file, "cls", "one two three");
        assertThat(last).as("LAST and CLS pool different tokens").isNotEqualTo(cls);
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
        LlmBackend m = TestModels.open(file, Map.of());
        try {
            assertThatThrownBy(() -> m.embed(List.of("x"))).isInstanceOf(UnsupportedCapabilityException.class)
                    .hasMessageContaining("embedding=true");
        } finally {
            m.close();
        }
    }
}
