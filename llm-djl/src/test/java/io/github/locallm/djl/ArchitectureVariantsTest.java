package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.modelkit.ReferenceForward;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Config variants the presets do not cover: Mistral, llama3 RoPE scaling, linear RoPE scaling. */
class ArchitectureVariantsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path withConfig(String name, java.util.function.Consumer<ObjectNode> change) throws IOException {
        Path dir = TinyCheckpoints.copy(TinyCheckpoints.Variant.LLAMA_F32, name);
        Path config = dir.resolve("config.json");
        ObjectNode n = (ObjectNode) JSON.readTree(config.toFile());
        change.accept(n);
        Files.writeString(config, JSON.writeValueAsString(n));
        return dir;
    }

    @Test
    void mistralWithAWindowLongerThanTheSequenceIsTheLlamaDecoder() throws IOException {
        Path dir = withConfig("mistral", n -> {
            n.putArray("architectures").add("MistralForCausalLM");
            n.put("model_type", "mistral");
            n.put("sliding_window", 1024);
        });
        Backends.Parts llama = Backends.sharedParts(TinyCheckpoints.Variant.LLAMA_F32);
        try (Backends.Parts mistral = Backends.parts(dir)) {
            assertThat(mistral.backend().info().details()).containsEntry("architecture", "MistralForCausalLM");
            assertThat(mistral.backend().info().contextLength()).as("the window limits attention, not the context")
                    .isEqualTo(Math.min(2048, io.github.locallm.spi.OptionValues.DEFAULT_CONTEXT_CAP));
            int[] prompt = llama.backend().tokenize("Hello, world!");
            assertThat(DecoderRuns.greedy(mistral.decoder(), prompt, 16, new int[0]))
                    .containsExactly(DecoderRuns.greedy(llama.decoder(), prompt, 16, new int[0]));
        }
    }

    @Test
    void llama3FrequenciesFollowTheDefinition() throws IOException {
        // theta 10000, head dim 16, original context 64: wavelengths 2*pi*10000^(i/8) are
        // 6.28, 19.87, 62.83, 198.7, ... against the bounds 64/4 = 16 and 64/1 = 64.
        Path dir = withConfig("llama3-freq", n -> n.putObject("rope_scaling").put("rope_type", "llama3")
                .put("factor", 8.0).put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                .put("original_max_position_embeddings", 64));
        CheckpointConfig c = Checkpoint.read(dir, "m").config();
        double[] inv = c.inverseFrequencies();
        double[] plain = new double[8];
        for (int i = 0; i < 8; i++) {
            plain[i] = Math.pow(10000, -i / 8.0);
        }
        assertThat(inv[0]).as("short wavelength kept").isCloseTo(plain[0], within(1e-12));
        double s1 = (64 / (2 * Math.PI / plain[1]) - 1) / 3;
        assertThat(inv[1]).as("blended").isCloseTo(plain[1] * ((1 - s1) / 8 + s1), within(1e-12));
        double s2 = (64 / (2 * Math.PI / plain[2]) - 1) / 3;
        assertThat(inv[2]).as("blended").isCloseTo(plain[2] * ((1 - s2) / 8 + s2), within(1e-12));
        for (int i = 3; i < 8; i++) {
            assertThat(inv[i]).as("long wavelength divided by the factor").isCloseTo(plain[i] / 8, within(1e-12));
        }
    }

    @Test
    void scaledRopeReachesTheDecoder() throws IOException {
        Path dir = withConfig("llama3-logits", n -> n.putObject("rope_scaling").put("rope_type", "llama3")
                .put("factor", 8.0).put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                .put("original_max_position_embeddings", 64));
        try (Backends.Parts b = Backends.parts(dir)) {
            double[] inv = b.decoder().config().inverseFrequencies();
            int[] seq = b.backend().tokenize("The quick brown fox jumps over the lazy dog. The dog sleeps in the sun.");
            int vocab = b.decoder().config().vocabSize();
            float[] djl;
            try (LlamaDecoder.KvCache cache = b.decoder().newCache(seq.length)) {
                djl = b.decoder().forward(seq, cache, true);
            }
            double[][] scaled = new ReferenceForward(TinyCheckpoints.model(TinyCheckpoints.Variant.LLAMA_F32),
                    ReferenceForward.Arithmetic.F32, inv).logits(seq);
            double[][] unscaled = new ReferenceForward(TinyCheckpoints.model(TinyCheckpoints.Variant.LLAMA_F32),
                    ReferenceForward.Arithmetic.F32).logits(seq);
            double diffScaled = 0;
            double diffUnscaled = 0;
            for (int i = 0; i < seq.length; i++) {
                for (int j = 0; j < vocab; j++) {
                    diffScaled = Math.max(diffScaled, Math.abs(djl[i * vocab + j] - scaled[i][j]));
                    diffUnscaled = Math.max(diffUnscaled, Math.abs(djl[i * vocab + j] - unscaled[i][j]));
                }
            }
            assertThat(diffScaled).isLessThan(ReferenceAgreementTest.TOLERANCE);
            assertThat(diffUnscaled).as("scaling changes the logits").isGreaterThan(1e-2);
            assertThat(Arrays.stream(inv).sum()).isPositive();
        }
    }

    private static org.assertj.core.data.Offset<Double> within(double d) {
        return org.assertj.core.data.Offset.offset(d);
    }
}
