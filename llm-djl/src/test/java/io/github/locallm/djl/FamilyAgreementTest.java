package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.TinyArchitectures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every family beyond Llama, and the RoPE scaling variants, as tiny seeded-random F32 checkpoints written
 * through llm-modelkit: the backend's greedy tokens equal those of {@link FamilyReference}, an independent
 * double-precision forward pass, over 40 tokens from each of three prompts. Windows of 6 positions, a
 * long-rope switch at 16 positions and soft-caps near the logit range are all crossed within that length;
 * mixture-of-experts models must route tokens to every expert.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FamilyAgreementTest {
    static final int GENERATED = 40;
    static final List<String> PROMPTS = List.of("Hello, world! How are you today?",
            "The quick brown fox jumps over the lazy dog.", "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100");

    private Path root;

    @BeforeAll
    void createRoot() throws IOException {
        root = Files.createTempDirectory("djl-families-");
    }

    @AfterAll
    void deleteRoot() throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    static Stream<TinyArchitectures.Model> models() {
        List<TinyArchitectures.Model> out = new ArrayList<>(TinyArchitectures.all());
        TinyArchitectures.Model llama = TinyArchitectures.mistral().withConfig(Map.of(
                "architectures", List.of("LlamaForCausalLM"), "model_type", "llama"));
        Map<String, Object> noWindow = new LinkedHashMap<>();
        noWindow.put("sliding_window", null);
        llama = llama.withConfig(noWindow);
        out.add(rename(llama.withConfig(Map.of("rope_scaling", Map.of("rope_type", "llama3", "factor", 8.0,
                "low_freq_factor", 1.0, "high_freq_factor", 4.0, "original_max_position_embeddings", 64))),
                "llama-rope-llama3"));
        out.add(rename(llama.withConfig(Map.of("rope_scaling", Map.of("rope_type", "linear", "factor", 4.0))),
                "llama-rope-linear"));
        out.add(rename(llama.withConfig(Map.of("max_position_embeddings", 16,
                "rope_scaling", Map.of("rope_type", "dynamic", "factor", 4.0))), "llama-rope-dynamic"));
        out.add(rename(llama.withConfig(Map.of("rope_scaling", Map.of("rope_type", "yarn", "factor", 4.0,
                "original_max_position_embeddings", 16))), "llama-rope-yarn"));
        // no factor: transformers derives it from max_position_embeddings / original_max_position_embeddings
        out.add(rename(llama.withConfig(Map.of("max_position_embeddings", 96, "rope_scaling", Map.of("rope_type",
                "yarn", "original_max_position_embeddings", 16))), "llama-rope-yarn-derived"));
        return out.stream();
    }

    private static TinyArchitectures.Model rename(TinyArchitectures.Model m, String name) {
        return new TinyArchitectures.Model(name, m.config(), m.tensors(), m.tokenizer(), m.tokenizerConfig());
    }

    private Path write(TinyArchitectures.Model m) {
        Path dir = root.resolve(m.name());
        try {
            m.write(dir, HfCheckpointWriter.DType.F32);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /**
     * A config saved by transformers 5 keeps the RoPE settings in {@code rope_parameters} (per layer type for
     * Gemma 3) instead of {@code rope_theta} / {@code rope_scaling}: the same weights give the same tokens as the
     * reference of the older form.
     */
    @org.junit.jupiter.api.Test
    void ropeParametersOfTransformers5AreRead() {
        TinyArchitectures.Model gemma3 = TinyArchitectures.gemma3();
        Map<String, Object> g = new LinkedHashMap<>(gemma3.config());
        Map<String, Object> full = new LinkedHashMap<>(castMap(g.remove("rope_scaling")));
        full.put("rope_theta", g.remove("rope_theta"));
        g.put("rope_parameters", Map.of("full_attention", full, "sliding_attention",
                Map.of("rope_type", "default", "rope_theta", g.remove("rope_local_base_freq"))));
        TinyArchitectures.Model llama = models().filter(m -> m.name().equals("llama-rope-linear")).findFirst()
                .orElseThrow();
        Map<String, Object> l = new LinkedHashMap<>(llama.config());
        Map<String, Object> single = new LinkedHashMap<>(castMap(l.remove("rope_scaling")));
        single.put("rope_theta", l.remove("rope_theta"));
        l.put("rope_parameters", single);
        for (TinyArchitectures.Model[] pair : List.of(
                new TinyArchitectures.Model[] {gemma3, rename(new TinyArchitectures.Model(gemma3.name(), g,
                        gemma3.tensors(), gemma3.tokenizer(), gemma3.tokenizerConfig()), "gemma3-v5")},
                new TinyArchitectures.Model[] {llama, rename(new TinyArchitectures.Model(llama.name(), l,
                        llama.tensors(), llama.tokenizer(), llama.tokenizerConfig()), "llama-linear-v5")})) {
            assertThat(pair[1].config()).doesNotContainKeys("rope_theta", "rope_scaling");
            FamilyReference ref = new FamilyReference(pair[0]);
            try (Backends.Parts b = Backends.parts(write(pair[1]))) {
                int[] ids = b.backend().encodePrompt(PROMPTS.get(0));
                assertThat(DecoderRuns.greedy(b.decoder(), ids, GENERATED, new int[0]))
                        .as("%s greedy tokens", pair[1].name()).containsExactly(ref.greedy(ids, GENERATED));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Object o) {
        return (Map<String, Object>) o;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void greedyTokensEqualTheIndependentReference(TinyArchitectures.Model m) {
        Path dir = write(m);
        FamilyReference ref = new FamilyReference(m);
        try (Backends.Parts b = Backends.parts(dir)) {
            assertThat(b.backend().info().details()).containsEntry("architecture",
                    String.valueOf(((List<?>) m.config().get("architectures")).get(0)));
            int bos = m.tokenizer().tokenId(io.github.locallm.modelkit.BpeTokenizer.END_OF_TEXT);
            boolean addsBos = Boolean.TRUE.equals(m.tokenizerConfig().get("add_bos_token"));
            int[] hello = b.backend().encodePrompt("Hello");
            assertThat(hello[0] == bos).as("%s prompt starts with the begin token", m.name()).isEqualTo(addsBos);
            assertThat(hello.length).isEqualTo(b.backend().tokenize("Hello").length + (addsBos ? 1 : 0));
            Set<String> continuations = new HashSet<>();
            for (String prompt : PROMPTS) {
                int[] ids = b.backend().encodePrompt(prompt);
                int[] expected = ref.greedy(ids, GENERATED);
                int[] actual = DecoderRuns.greedy(b.decoder(), ids, GENERATED, new int[0]);
                assertThat(actual).as("%s greedy tokens after \"%s\"", m.name(), prompt).containsExactly(expected);
                continuations.add(java.util.Arrays.toString(actual));
            }
            assertThat(continuations).as("prompts lead to different text").hasSize(PROMPTS.size());
        }
        if (m.config().containsKey("num_experts_per_tok")) {
            int experts = ((Number) m.config().getOrDefault("num_local_experts", m.config().get("num_experts")))
                    .intValue();
            Set<Integer> used = new HashSet<>();
            Set<List<Integer>> combinations = new HashSet<>(ref.routes);
            ref.routes.forEach(used::addAll);
            assertThat(used).as("experts reached").hasSize(experts);
            assertThat(combinations.size()).as("distinct expert pairs").isGreaterThan(2);
        }
    }
}
