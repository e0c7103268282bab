package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.Tensor;
import io.github.locallm.modelkit.TinyArchitectures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A {@code Gemma3ForConditionalGeneration} checkpoint (the text model's settings in {@code text_config}, its
 * tensors under a language-model prefix, vision tensors beside them) runs its text model: greedy tokens equal
 * those of the independent reference of the text-only model.
 */
class MultimodalGemma3Test {
    static final int GENERATED = 24;

    @ParameterizedTest
    @ValueSource(strings = {"language_model.model.", "model.language_model."})
    void theTextModelOfAnImageTextCheckpointRuns(String prefix) throws IOException {
        TinyArchitectures.Model text = TinyArchitectures.gemma3();
        Map<String, Object> textConfig = new LinkedHashMap<>(text.config());
        textConfig.remove("architectures");
        textConfig.remove("tie_word_embeddings");
        Object eos = textConfig.remove("eos_token_id");
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architectures", List.of("Gemma3ForConditionalGeneration"));
        config.put("model_type", "gemma3");
        config.put("text_config", textConfig);
        config.put("vision_config", Map.of("model_type", "siglip_vision_model", "hidden_size", 4));
        config.put("eos_token_id", eos);
        config.put("tie_word_embeddings", text.config().get("tie_word_embeddings"));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        text.tensors().forEach((name, t) -> {
            String renamed = name.startsWith("model.") ? prefix + name.substring("model.".length()) : name;
            tensors.put(renamed, new Tensor(renamed, t.shape(), t.data()));
        });
        tensors.put("vision_tower.vision_model.embeddings.patch_embedding.weight",
                new Tensor("vision_tower.vision_model.embeddings.patch_embedding.weight", new long[] {4, 4},
                        new float[16]));
        tensors.put("multi_modal_projector.mm_input_projection_weight",
                new Tensor("multi_modal_projector.mm_input_projection_weight", new long[] {4, 4}, new float[16]));
        Path dir = Files.createTempDirectory("djl-gemma3-mm-");
        try {
            HfCheckpointWriter.writeCustom(dir, config, tensors, text.tokenizer(), text.tokenizerConfig(),
                    HfCheckpointWriter.DType.F32);
            FamilyReference ref = new FamilyReference(text);
            try (Backends.Parts b = Backends.parts(dir)) {
                assertThat(b.backend().info().details()).containsEntry("architecture", "Gemma3ForConditionalGeneration");
                assertThat(b.backend().info().details().get("text_model")).startsWith("Gemma3ForCausalLM");
                for (String prompt : FamilyAgreementTest.PROMPTS.subList(0, 2)) {
                    int[] ids = b.backend().encodePrompt(prompt);
                    assertThat(DecoderRuns.greedy(b.decoder(), ids, GENERATED, new int[0]))
                            .as("greedy tokens after \"%s\"", prompt).containsExactly(ref.greedy(ids, GENERATED));
                }
            }
        } finally {
            try (var all = Files.walk(dir)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
