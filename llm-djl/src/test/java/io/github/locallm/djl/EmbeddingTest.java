package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.Capability;
import io.github.locallm.ModelLoadException;
import io.github.locallm.UnsupportedCapabilityException;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.ReferenceForward;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sentence embeddings against an independent computation: the double-precision reference forward pass gives
 * the final-norm hidden states of the same tokens, and this test pools them itself.
 */
class EmbeddingTest {
    /** Largest accepted difference of any component; hidden states of the tiny models are of order one. */
    static final double TOLERANCE = 1e-4;
    static final List<String> TEXTS = List.of("The quick brown fox", "jumps over the lazy dog, twice.",
            "Hello");

    static Stream<Arguments> configurations() {
        return Stream.of(
                Arguments.of(TinyCheckpoints.Variant.QWEN2_F32, List.of("mean"), true),
                Arguments.of(TinyCheckpoints.Variant.LLAMA_F32, List.of("cls"), false),
                Arguments.of(TinyCheckpoints.Variant.GQA_F32, List.of("lasttoken"), true),
                Arguments.of(TinyCheckpoints.Variant.TIED_F32,
                        List.of("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"), false));
    }

    @ParameterizedTest
    @MethodSource("configurations")
    void sentenceTransformerModulesPoolAsTheReference(TinyCheckpoints.Variant v, List<String> modes, boolean normalize)
            throws IOException {
        Path dir = TinyCheckpoints.copy(v, "st-" + v + "-" + String.join("-", modes));
        int width = TinyCheckpoints.model(v).config().hiddenSize();
        HfCheckpointWriter.writeSentenceTransformerModules(dir, width, modes, normalize, 512);
        try (DjlBackend backend = Backends.open(dir, Map.of())) {
            assertThat(backend.info().capabilities()).contains(Capability.EMBEDDINGS);
            assertThat(backend.info().details().get("embeddings")).contains("modules.json");
            List<float[]> got = backend.embed(TEXTS);
            assertThat(got).hasSize(TEXTS.size());
            for (int i = 0; i < TEXTS.size(); i++) {
                int[] tokens = TinyCheckpoints.model(v).tokenizer().encode(TEXTS.get(i));
                assertThat(backend.embeddingTokens(TEXTS.get(i))).as("tokens of %s", TEXTS.get(i)).isEqualTo(tokens);
                double[] expected = referencePool(TinyCheckpoints.model(v), tokens, modes, normalize);
                assertClose(got.get(i), expected, v + " " + modes + " text " + i);
            }
            assertThat(got.get(0)).as("different texts, different vectors").isNotEqualTo(got.get(1));
            List<float[]> again = backend.embed(List.of(TEXTS.get(1), TEXTS.get(0), TEXTS.get(1)));
            assertThat(again.get(1)).as("a text's vector does not depend on the other texts").isEqualTo(got.get(0));
            assertThat(again.get(0)).isEqualTo(got.get(1)).isEqualTo(again.get(2));
        }
    }

    @Test
    void openSettingsChooseThePoolingOfACheckpointWithoutModules() {
        TinyCheckpoints.Variant v = TinyCheckpoints.Variant.QWEN2_F32;
        try (DjlBackend backend = Backends.open(TinyCheckpoints.dir(v), Map.of("pooling", "last", "normalize", "true"))) {
            assertThat(backend.info().capabilities()).contains(Capability.EMBEDDINGS);
            assertThat(backend.info().details().get("embeddings")).contains("lasttoken").contains("setting");
            float[] got = backend.embed(List.of(TEXTS.get(1))).get(0);
            int[] tokens = TinyCheckpoints.model(v).tokenizer().encode(TEXTS.get(1));
            assertClose(got, referencePool(TinyCheckpoints.model(v), tokens, List.of("lasttoken"), true), "last");
        }
    }

    @Test
    void openSettingsOverrideTheModules() throws IOException {
        TinyCheckpoints.Variant v = TinyCheckpoints.Variant.LLAMA_F32;
        Path dir = TinyCheckpoints.copy(v, "st-override");
        HfCheckpointWriter.writeSentenceTransformerModules(dir, TinyCheckpoints.model(v).config().hiddenSize(),
                List.of("cls"), true, 512);
        try (DjlBackend backend = Backends.open(dir, Map.of("pooling", "mean+max", "normalize", "false"))) {
            float[] got = backend.embed(List.of(TEXTS.get(0))).get(0);
            int[] tokens = TinyCheckpoints.model(v).tokenizer().encode(TEXTS.get(0));
            assertClose(got, referencePool(TinyCheckpoints.model(v), tokens, List.of("max", "mean"), false), "override");
        }
    }

    @Test
    void truncatesToMaxSeqLengthKeepingTheEndToken() throws IOException {
        TinyCheckpoints.Variant v = TinyCheckpoints.Variant.GQA_F32;
        CheckpointModel model = TinyCheckpoints.model(v);
        Path dir = TinyCheckpoints.copy(v, "st-truncate");
        HfCheckpointWriter.writeSentenceTransformerModules(dir, model.config().hiddenSize(), List.of("lasttoken"),
                false, 5);
        // the tokenizer appends its end token, as the tokenizers of last-token embedding models do
        ObjectMapper json = new ObjectMapper();
        ObjectNode tc = (ObjectNode) json.readTree(dir.resolve("tokenizer_config.json").toFile());
        tc.put("add_eos_token", true);
        json.writeValue(dir.resolve("tokenizer_config.json").toFile(), tc);
        try (DjlBackend backend = Backends.open(dir, Map.of())) {
            String text = TEXTS.get(1);
            int[] body = model.tokenizer().encode(text);
            assertThat(body.length).isGreaterThan(5);
            int[] expectedTokens = Arrays.copyOf(body, 5);
            expectedTokens[4] = model.config().eosTokenId();
            assertThat(backend.embeddingTokens(text)).isEqualTo(expectedTokens);
            float[] got = backend.embed(List.of(text)).get(0);
            assertClose(got, referencePool(model, expectedTokens, List.of("lasttoken"), false), "truncated");
            assertThat(backend.embeddingTokens("Hi")).as("a short text keeps all its tokens")
                    .endsWith(model.config().eosTokenId());
        }
    }

    @Test
    void aModelWithoutPoolingDoesNotClaimEmbeddings() {
        DjlBackend backend = Backends.shared(TinyCheckpoints.Variant.QWEN2_F32);
        assertThat(backend.info().capabilities()).doesNotContain(Capability.EMBEDDINGS);
        assertThatThrownBy(() -> backend.embed(List.of("x")))
                .isInstanceOf(UnsupportedCapabilityException.class)
                .hasMessageContaining(backend.info().model())
                .hasMessageContaining("pooling=mean");
        Path dir = TinyCheckpoints.dir(TinyCheckpoints.Variant.QWEN2_F32);
        assertThatThrownBy(() -> Backends.open(dir, Map.of("normalize", "true")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pooling");
        assertThatThrownBy(() -> Backends.open(dir, Map.of("pooling", "median")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("median");
    }

    @Test
    void aModuleThisBackendDoesNotRunIsNotSkipped() throws IOException {
        TinyCheckpoints.Variant v = TinyCheckpoints.Variant.QWEN2_F32;
        Path dir = TinyCheckpoints.copy(v, "st-dense");
        HfCheckpointWriter.writeSentenceTransformerModules(dir, TinyCheckpoints.model(v).config().hiddenSize(),
                List.of("mean"), false, 512);
        String modules = Files.readString(dir.resolve("modules.json"));
        Files.writeString(dir.resolve("modules.json"), modules.replace("]", ", {\"idx\": 2, \"name\": \"2\", "
                + "\"path\": \"2_Dense\", \"type\": \"sentence_transformers.models.Dense\"}]"));
        try (DjlBackend backend = Backends.open(dir, Map.of("pooling", "mean"))) {
            assertThat(backend.info().capabilities()).doesNotContain(Capability.EMBEDDINGS);
            assertThatThrownBy(() -> backend.embed(List.of("x"))).isInstanceOf(UnsupportedCapabilityException.class)
                    .hasMessageContaining("sentence_transformers.models.Dense");
        }
    }

    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("modules.json", "{not json", "cannot be read as JSON"),
                Arguments.of("modules.json", "{}", "non-empty JSON array"),
                Arguments.of("modules.json", "[1]", "not an object with a type"),
                Arguments.of("1_Pooling/config.json", "{\"word_embedding_dimension\": 7}", "hidden size"),
                Arguments.of("1_Pooling/config.json", "{\"pooling_mode_mean_tokens\": false}", "no pooling mode"),
                Arguments.of("1_Pooling/config.json", "{\"pooling_mode\": \"median\"}", "unknown pooling_mode"),
                Arguments.of("1_Pooling/config.json", "{\"pooling_mode_cls_token\": \"yes\"}", "true or false"),
                Arguments.of("1_Pooling/config.json", null, "is missing"),
                Arguments.of("sentence_bert_config.json", "{\"max_seq_length\": -3}", "positive integer"),
                Arguments.of("sentence_bert_config.json", "{\"do_lower_case\": 1}", "true or false"));
    }

    @ParameterizedTest
    @MethodSource("malformed")
    void malformedModuleFilesAreRefusedAtOpen(String file, String content, String message) throws IOException {
        TinyCheckpoints.Variant v = TinyCheckpoints.Variant.QWEN2_F32;
        Path dir = TinyCheckpoints.copy(v, "st-bad");
        HfCheckpointWriter.writeSentenceTransformerModules(dir, TinyCheckpoints.model(v).config().hiddenSize(),
                List.of("mean"), true, 512);
        if (content == null) {
            Files.delete(dir.resolve(file));
        } else {
            Files.writeString(dir.resolve(file), content);
        }
        assertThatThrownBy(() -> Backends.open(dir, Map.of())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(message);
    }

    /** Pools the reference hidden states as sentence-transformers' Pooling and Normalize modules define it. */
    static double[] referencePool(CheckpointModel model, int[] tokens, List<String> modes, boolean normalize) {
        double[][] h = new ReferenceForward(model).hiddenStates(tokens);
        int n = h.length;
        int width = h[0].length;
        List<String> order = List.of("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken");
        double[] out = new double[modes.size() * width];
        int block = 0;
        for (String mode : order) {
            if (!modes.contains(mode)) {
                continue;
            }
            for (int d = 0; d < width; d++) {
                double sum = 0;
                double weighted = 0;
                double weights = 0;
                double max = -Double.MAX_VALUE;
                for (int i = 0; i < n; i++) {
                    sum += h[i][d];
                    weighted += (i + 1) * h[i][d];
                    weights += i + 1;
                    max = Math.max(max, h[i][d]);
                }
                out[block * width + d] = switch (mode) {
                    case "cls" -> h[0][d];
                    case "lasttoken" -> h[n - 1][d];
                    case "max" -> max;
                    case "mean" -> sum / n;
                    case "mean_sqrt_len_tokens" -> sum / Math.sqrt(n);
                    default -> weighted / weights;
                };
            }
            block++;
        }
        if (normalize) {
            double norm = 0;
            for (double x : out) {
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < out.length; i++) {
                out[i] /= norm;
            }
        }
        return out;
    }

    static void assertClose(float[] got, double[] expected, String what) {
        assertThat(got).as("length of %s", what).hasSize(expected.length);
        double maxDiff = 0;
        double maxAbs = 0;
        for (int i = 0; i < got.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
        }
        assertThat(maxAbs).as("%s is not degenerate", what).isGreaterThan(0.05);
        assertThat(maxDiff).as("max |difference| of %s", what).isLessThan(TOLERANCE);
    }
}
