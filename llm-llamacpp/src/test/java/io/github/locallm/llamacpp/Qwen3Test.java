package io.github.locallm.llamacpp;

import io.github.locallm.ModelLoadException;
import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.ReferenceForward;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An architecture newer than the jllama engine's llama.cpp build: a Qwen3 (per-head q/k RMSNorm) that the test
 * writes itself loads on the llamacpp engine and generates exactly the greedy text of an independent
 * double-precision forward pass of the same weights.
 */
class Qwen3Test {

    @Test
    void qwen3GeneratesTheReferenceGreedyText(@TempDir Path dir) {
        CheckpointModel model = TinyModels.qwen3();
        Path file = TestModels.write(dir, "qwen3", model, GgufWriter.Quantization.F32);
        BpeTokenizer tok = model.tokenizer();
        ReferenceForward reference = new ReferenceForward(model);
        LlmBackend m = TestModels.open(file, Map.of("kv_type", "f32"));
        try {
            assertThat(m.info().details()).containsEntry("architecture", "qwen3").containsEntry("engine", "llamacpp");
            for (String prompt : new String[] {"The quick brown fox", "Hello, world! How are you", "日本語 🙂"}) {
                int[] ids = tok.encode(prompt);
                assertThat(m.tokenize(prompt)).as("llama.cpp tokenizes like the model's tokenizer").containsExactly(ids);
                ReferenceForward.Decoded expected = reference.greedy(ids, 24, -1);
                // decisions closer than this could flip with float rounding; the seeded weights keep them apart
                assertThat(expected.minMargin()).as("reference decision margin").isGreaterThan(1e-3);
                String text = TestModels.complete(m, prompt, TestModels.greedy(24)).text();
                assertThat(text).as(prompt).isEqualTo(tok.decode(expected.tokens()));
            }
        } finally {
            m.close();
        }
    }

    @Test
    void theJllamaEngineDoesNotKnowQwen3(@TempDir Path dir) {
        Path file = TestModels.write(dir, "qwen3", TinyModels.qwen3(), GgufWriter.Quantization.F32);
        assertThatThrownBy(() -> TestModels.open(file, Map.of("engine", LoadSettings.ENGINE_JLLAMA)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("qwen3");
    }
}
