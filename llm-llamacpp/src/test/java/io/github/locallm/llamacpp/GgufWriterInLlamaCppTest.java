package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.ReferenceForward;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What the GGUF writer produces is the same model, run by the real llama.cpp. */
class GgufWriterInLlamaCppTest {

    private static Map<String, CheckpointModel> presets() {
        Map<String, CheckpointModel> m = new LinkedHashMap<>();
        m.put("llama", TinyModels.llama());
        m.put("gqa", TinyModels.gqa());
        m.put("qwen2Bias", TinyModels.qwen2Bias());
        m.put("tied", TinyModels.tied());
        return m;
    }

    @Test
    void llamaCppGreedyOutputMatchesAJavaReferenceOfTheCheckpoint(@TempDir Path dir) {
        BpeTokenizer tok = TinyModels.tokenizer();
        String prompt = "The quick brown fox jumps over";
        for (Map.Entry<String, CheckpointModel> e : presets().entrySet()) {
            CheckpointModel model = e.getValue();
            int[] reference = new ReferenceForward(model).greedy(tok.encode(prompt), 24);
            String expected = tok.decode(reference);
            Path file = TestModels.write(dir, e.getKey(), model, GgufWriter.Quantization.F32);
            LlmBackend b = TestModels.open(file, Map.of("kv_type", "f32"));
            try {
                assertThat(b.info().details()).containsEntry("architecture", model.config().architecture());
                String actual = TestModels.complete(b, prompt, TestModels.greedy(24)).text();
                assertThat(actual.replace("\uFFFD", "")).as(e.getKey())
                        .isEqualTo(expected.replace("\uFFFD", ""));
                assertThat(new HashSet<>(List.of(java.util.Arrays.stream(reference).boxed().toArray())))
                        .as("varied greedy output of " + e.getKey()).hasSizeGreaterThan(8);
            } finally {
                b.close();
            }
        }
    }

    @Test
    void everyPresetLoadsInQ8AndTokenizesLikeTheJavaTokenizer(@TempDir Path dir) {
        BpeTokenizer tok = TinyModels.tokenizer();
        for (Map.Entry<String, CheckpointModel> e : presets().entrySet()) {
            Path f32 = TestModels.write(dir, e.getKey(), e.getValue(), GgufWriter.Quantization.F32);
            Path q8 = TestModels.write(dir, e.getKey(), e.getValue(), GgufWriter.Quantization.Q8_0);
            LlmBackend a = TestModels.open(f32, Map.of());
            LlmBackend b = TestModels.open(q8, Map.of());
            try {
                for (String line : TinyModels.CORPUS.split("\n")) {
                    assertThat(b.tokenize(line)).as(line).containsExactly(tok.encode(line));
                }
                String full = TestModels.complete(a, "Hello, world!", TestModels.greedy(32)).text();
                String quant = TestModels.complete(b, "Hello, world!", TestModels.greedy(32)).text();
                assertThat(quant).isNotEmpty();
                // Q8_0 rounding may change a near-tie, but not the start of the answer
                assertThat(quant.substring(0, 2)).as(e.getKey()).isEqualTo(full.substring(0, 2));
            } finally {
                a.close();
                b.close();
            }
        }
    }
}
