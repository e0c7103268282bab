package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.ModelLoadException;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.TinyArchitectures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Malformed {@code config.json}, safetensors headers and {@code tokenizer.json} files, opened through the
 * provider: each gives a {@link ModelLoadException} naming the problem, before any weight is allocated, and
 * the JVM and the engine stay usable (the last test generates after all of them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One damaged checkpoint: which file, how, and what the message must say. */
    record Case(String name, String file, Consumer<ObjectNode> damage, String expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Case config(String name, Consumer<ObjectNode> damage, String expected) {
        return new Case(name, "config.json", damage, expected);
    }

    private static Case header(String name, Consumer<ObjectNode> damage, String expected) {
        return new Case(name, "model.safetensors", damage, expected);
    }

    private static Case tokenizer(String name, Consumer<ObjectNode> damage, String expected) {
        return new Case(name, "tokenizer.json", damage, expected);
    }

    private static ObjectNode vocab(ObjectNode tok) {
        return (ObjectNode) tok.path("model").path("vocab");
    }

    static Stream<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(config("layers 2^31-1", n -> n.put("num_hidden_layers", Integer.MAX_VALUE),
                "num_hidden_layers is 2147483647, above the largest supported value"));
        c.add(config("layers 0", n -> n.put("num_hidden_layers", 0), "num_hidden_layers is not a positive integer"));
        c.add(config("layers negative", n -> n.put("num_hidden_layers", -3), "num_hidden_layers is not a positive"));
        c.add(config("layers fractional", n -> n.put("num_hidden_layers", 2.5), "num_hidden_layers is not a positive"));
        c.add(config("layers as text", n -> n.put("num_hidden_layers", "2"), "num_hidden_layers is not a positive"));
        c.add(config("hidden size 2^40", n -> n.put("hidden_size", 1L << 40), "hidden_size is 1099511627776"));
        c.add(config("vocab 2^33", n -> n.put("vocab_size", 1L << 33), "vocab_size is 8589934592"));
        c.add(config("vocab missing", n -> n.remove("vocab_size"), "vocab_size is missing"));
        c.add(config("rope_theta 0", n -> n.put("rope_theta", 0.0), "rope_theta must be a finite number above 1"));
        c.add(config("rope_theta negative", n -> n.put("rope_theta", -10000.0), "rope_theta must be"));
        c.add(config("rope_theta text", n -> n.put("rope_theta", "big"), "rope_theta is not a number"));
        c.add(config("eps 0", n -> n.put("rms_norm_eps", 0.0), "rms_norm_eps must be a finite number in (0, 1)"));
        c.add(config("eps negative", n -> n.put("rms_norm_eps", -1e-6), "rms_norm_eps must be"));
        c.add(config("eps infinite", n -> n.put("rms_norm_eps", new java.math.BigDecimal("1e400")), "rms_norm_eps is not finite"));
        c.add(config("odd head dim", n -> n.put("head_dim", 15), "rotary dimension 15"));
        c.add(config("heads not a multiple of kv heads", n -> n.put("num_attention_heads", 3),
                "num_attention_heads 3 is not a multiple of num_key_value_heads 2"));
        c.add(config("width not a multiple of heads", n -> {
            n.put("hidden_size", 66);
            n.remove("head_dim");
        }, "hidden_size 66 is not a multiple of num_attention_heads 4"));
        c.add(config("head dims disagree with weights", n -> n.put("head_dim", 32),
                "self_attn.q_proj.weight is [64, 64], config.json implies [128, 64]"));
        c.add(config("unknown architecture", n -> n.putArray("architectures").add("GPT2LMHeadModel"),
                "Qwen3MoeForCausalLM"));
        c.add(config("unknown rope type", n -> n.putObject("rope_scaling").put("rope_type", "mrope"),
                "rope_scaling type 'mrope'"));
        c.add(config("linear factor below 1", n -> n.putObject("rope_scaling").put("rope_type", "linear")
                .put("factor", 0.5), "rope_scaling factor must be a finite number of at least 1"));
        c.add(config("longrope factors too short", n -> {
            ObjectNode r = n.putObject("rope_scaling");
            r.put("type", "longrope");
            r.putArray("short_factor").add(1.0);
            r.putArray("long_factor").add(1.0);
        }, "longrope short_factor must list 8 numbers"));
        c.add(config("llama3 frequencies inverted", n -> n.putObject("rope_scaling").put("rope_type", "llama3")
                .put("factor", 8.0).put("low_freq_factor", 4.0).put("high_freq_factor", 1.0),
                "0 < low_freq_factor < high_freq_factor"));
        c.add(config("negative window", n -> n.put("sliding_window", -1), "sliding_window is not a positive"));
        c.add(config("layer_types too short", n -> n.putArray("layer_types").add("full_attention"),
                "layer_types lists 1 layers"));
        c.add(config("eos outside the vocabulary", n -> n.put("eos_token_id", 1_000_000), "eos_token_id 1000000"));
        c.add(config("unknown activation", n -> n.put("hidden_act", "relu2"), "activation 'relu2'"));
        c.add(config("rope_scaling not an object", n -> n.put("rope_scaling", 4), "rope_scaling must be an object"));
        c.add(header("element count wraps to zero bytes", h -> {
            ObjectNode t = (ObjectNode) h.get("model.norm.weight");
            t.putArray("shape").add(4611686018427387904L).add(4);
            t.putArray("data_offsets").add(0).add(0);
        }, "element count overflows"));
        c.add(header("shape of 2^32 x 2^32", h -> {
            ObjectNode t = (ObjectNode) h.get("model.norm.weight");
            t.putArray("shape").add(1L << 32).add(1L << 32);
        }, "element count overflows"));
        c.add(header("negative offsets", h -> ((ObjectNode) h.get("model.norm.weight")).putArray("data_offsets")
                .add(-8).add(248), "data_offsets [-8, 248]"));
        c.add(header("fractional dimension", h -> ((ObjectNode) h.get("model.norm.weight")).putArray("shape")
                .add(64.5), "not a non-negative integer"));
        c.add(header("tensor missing", h -> h.remove("model.layers.1.mlp.up_proj.weight"),
                "model.layers.1.mlp.up_proj.weight"));
        c.add(tokenizer("unknown model type", t -> ((ObjectNode) t.get("model")).put("type", "Nonsense"),
                "model type 'Nonsense'"));
        c.add(tokenizer("no model", t -> t.remove("model"), "no \"model\" object"));
        c.add(tokenizer("merge of unknown tokens", t -> ((ArrayNode) t.path("model").path("merges"))
                .insert(0, "zzqq xxyy"), "uses or makes a token that is not in the vocab"));
        c.add(tokenizer("merge with three parts", t -> ((ArrayNode) t.path("model").path("merges"))
                .insert(0, "a b c"), "is not two tokens separated by a space"));
        c.add(tokenizer("negative token id", t -> vocab(t).put("!", -5), "is not a non-negative integer"));
        c.add(tokenizer("token id beyond the embedding", t -> vocab(t).put("!", 1_000_000),
                "token id 1000000, but the model's embedding has only"));
        c.add(tokenizer("duplicate token id", t -> vocab(t).put("!", vocab(t).get("\"").asInt()),
                "is given to more than one token"));
        c.add(tokenizer("added token id as text", t -> ((ObjectNode) t.path("added_tokens").get(0)).put("id", "x"),
                "added_tokens id is not a non-negative integer"));
        c.add(tokenizer("unknown pre-tokenizer", t -> ((ObjectNode) t.get("pre_tokenizer")).put("type", "Magic"),
                "pre_tokenizer type 'Magic'"));
        c.add(tokenizer("null in a decoder sequence", t -> {
            ObjectNode d = t.putObject("decoder");
            d.put("type", "Sequence");
            d.putArray("decoders").addNull();
        }, "decoder Sequence has a null member"));
        c.add(tokenizer("template with an undefined special token", t -> {
            ObjectNode p = t.putObject("post_processor");
            p.put("type", "TemplateProcessing");
            p.putArray("single").addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
            p.putObject("special_tokens");
        }, "special token <s>, which its special_tokens do not define"));
        c.add(tokenizer("split pattern not an object", t -> {
            ObjectNode p = t.putObject("pre_tokenizer");
            p.put("type", "Split");
            p.put("pattern", "(");
            p.put("behavior", "Isolated");
        }, "has a pattern that is neither"));
        c.add(tokenizer("split regex that does not compile (the native library reports it)", t -> {
            ObjectNode p = t.putObject("pre_tokenizer");
            p.put("type", "Split");
            p.putObject("pattern").put("Regex", "(unclosed");
            p.put("behavior", "Isolated");
            p.put("invert", false);
        }, "not a valid Hugging Face tokenizer file"));
        c.add(tokenizer("dropout above one", t -> ((ObjectNode) t.get("model")).put("dropout", 3.0),
                "dropout must be null or in (0, 1]"));
        return c.stream();
    }

    private Path base;
    private int copies;

    private synchronized Path copy(String name) {
        if (base == null) {
            base = TinyCheckpoints.dir(TinyCheckpoints.Variant.GQA_F32);
        }
        return TinyCheckpoints.copy(TinyCheckpoints.Variant.GQA_F32, "malformed-" + (copies++) + "-"
                + name.replaceAll("[^a-zA-Z0-9]", "_"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void isRefusedWithATypedException(Case c) throws IOException {
        Path dir = copy(c.name());
        Path file = dir.resolve(c.file());
        if (c.file().equals("model.safetensors")) {
            CheckpointErrorsTest.editHeader(file, c.damage());
        } else {
            ObjectNode n = (ObjectNode) JSON.readTree(file.toFile());
            c.damage().accept(n);
            Files.writeString(file, JSON.writeValueAsString(n));
        }
        assertThatThrownBy(() -> Backends.open(dir, Map.of()).close())
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(c.expected());
    }

    @Test
    void moreExpertsPerTokenThanExpertsIsRefused() throws IOException {
        Path dir = Files.createTempDirectory("djl-moe-bad-");
        try {
            TinyArchitectures.mixtral().withConfig(Map.of("num_experts_per_tok", 5))
                    .write(dir, HfCheckpointWriter.DType.F32);
            assertThatThrownBy(() -> Backends.open(dir, Map.of()).close())
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("num_experts_per_tok 5 exceeds the 4 experts");
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void unreadableFilesAreRefused() throws IOException {
        Path dir = copy("not json");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}");
        assertThatThrownBy(() -> Backends.open(dir, Map.of()).close())
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("cannot be read as JSON");
        Files.writeString(dir.resolve("tokenizer.json"), "");
        assertThatThrownBy(() -> Backends.open(dir, Map.of()).close())
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("tokenizer.json");
        Path dir2 = copy("config array");
        Files.writeString(dir2.resolve("config.json"), "[1, 2, 3]");
        assertThatThrownBy(() -> Backends.open(dir2, Map.of()).close())
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("is not a JSON object");
    }

    @AfterAll
    void theEngineStillGenerates() {
        Backends.Parts b = Backends.sharedParts(TinyCheckpoints.Variant.GQA_F32);
        int[] prompt = b.backend().tokenize("Hello, world!");
        assertThat(DecoderRuns.greedy(b.decoder(), prompt, 4, new int[0])).hasSize(4);
    }
}
