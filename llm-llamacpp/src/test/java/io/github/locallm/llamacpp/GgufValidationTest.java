package io.github.locallm.llamacpp;

import io.github.locallm.ModelLoadException;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every kind of malformed GGUF that has crashed, aborted or silently corrupted llama.cpp is written here and
 * refused in Java with a {@link ModelLoadException} naming the key or tensor and the bad value, on both engines,
 * one after the other in this JVM, which then still loads and runs a good model.
 */
class GgufValidationTest {

    /** A malformed file and what its refusal must say. */
    record Case(String name, Path file, List<String> mentions) {
    }

    @Test
    void everyMalformedFileIsRefusedOnBothEnginesAndTheJvmSurvives(@TempDir Path dir) throws IOException {
        CheckpointModel model = TinyModels.llama();
        int vocab = model.tokenizer().size();
        List<Case> cases = new ArrayList<>();

        List<String> shortTokens = model.tokenizer().tokens().subList(0, vocab - 10);
        cases.add(write(dir, "short-token-list", model, meta("tokenizer.ggml.tokens", shortTokens,
                "tokenizer.ggml.token_type", new int[vocab - 10], "llama.vocab_size", null),
                "token_embd.weight", Integer.toString(vocab - 10)));
        cases.add(write(dir, "tokens-not-strings", model, meta("tokenizer.ggml.tokens", new int[vocab]),
                "tokenizer.ggml.tokens", "int32"));
        cases.add(write(dir, "token-types-not-integers", model, meta("tokenizer.ggml.token_type",
                model.tokenizer().tokens()), "tokenizer.ggml.token_type", "string"));
        cases.add(write(dir, "scores-wrong-length", model, meta("tokenizer.ggml.scores", new float[3]),
                "tokenizer.ggml.scores", "3"));
        cases.add(write(dir, "no-layers", model, meta("llama.block_count", 0), "llama.block_count", ": 0"));
        cases.add(write(dir, "eps-nan", model, meta("llama.attention.layer_norm_rms_epsilon", Float.NaN),
                "llama.attention.layer_norm_rms_epsilon", "NaN"));
        cases.add(write(dir, "eps-negative", model, meta("llama.attention.layer_norm_rms_epsilon", -1e-5f),
                "llama.attention.layer_norm_rms_epsilon", "-9.99"));
        cases.add(write(dir, "bos-at-vocab", model, meta("tokenizer.ggml.bos_token_id", vocab),
                "tokenizer.ggml.bos_token_id", Integer.toString(vocab)));
        cases.add(write(dir, "eos-far-beyond", model, meta("tokenizer.ggml.eos_token_id", 1_000_000),
                "tokenizer.ggml.eos_token_id", "1000000"));
        cases.add(write(dir, "alignment-1", model, meta("general.alignment", 1), "general.alignment", ": 1"));
        String deep = "{%if 1%}".repeat(50_000) + "x" + "{%endif%}".repeat(50_000);
        cases.add(write(dir, "template-50000-deep", model, meta("tokenizer.chat_template", deep),
                "tokenizer.chat_template", "50000 levels"));
        String long_ = "x".repeat(GgufChecks.MAX_TEMPLATE_CHARS + 1);
        cases.add(write(dir, "template-too-long", model, meta("tokenizer.chat_template", long_),
                "tokenizer.chat_template", Integer.toString(GgufChecks.MAX_TEMPLATE_CHARS + 1)));

        // tensor_count one less than the tensors stored: every later offset would be read shifted
        Path good = TestModels.write(dir, "good", model, GgufWriter.Quantization.F32);
        byte[] bytes = Files.readAllBytes(good);
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long tensors = bb.getLong(8);
        bb.putLong(8, tensors - 1);
        Path dropped = dir.resolve("tensor-count-minus-one.gguf");
        Files.write(dropped, bytes);
        cases.add(new Case("tensor-count-minus-one", dropped, List.of("tensor_count", Long.toString(tensors - 1))));

        // F16 weights relabelled BF16: same size, garbage values
        Path f16 = TestModels.write(dir, "f16", model, GgufWriter.Quantization.F16);
        byte[] relabelled = Files.readAllBytes(f16);
        int patched = relabel(relabelled, model, 1, 30);
        assertThat(patched).as("F16 tensors relabelled").isGreaterThan(5);
        Path bf16 = dir.resolve("f16-as-bf16.gguf");
        Files.write(bf16, relabelled);
        cases.add(new Case("f16-as-bf16", bf16, List.of("labelled BF16", "F16")));

        for (String engine : List.of(LoadSettings.ENGINE_LLAMACPP, LoadSettings.ENGINE_JLLAMA)) {
            for (Case c : cases) {
                assertThatThrownBy(() -> TestModels.open(c.file(), Map.of("engine", engine)))
                        .as(c.name() + " on " + engine).isInstanceOf(ModelLoadException.class)
                        .hasMessageContaining(c.file().getFileName().toString())
                        .satisfies(e -> assertThat(e.getMessage()).contains(c.mentions()));
            }
            // the JVM and the engine are fine: good files load and generate, F16 ones included
            for (Path ok : List.of(good, f16)) {
                LlmBackend m = TestModels.open(ok, Map.of("engine", engine));
                try {
                    assertThat(TestModels.complete(m, "The quick brown fox", TestModels.greedy(6)).result()
                            .completionTokens()).isEqualTo(6);
                } finally {
                    m.close();
                }
            }
        }
    }

    @Test
    void userTemplatesGetTheSameBoundsAndTemplateFilesMustBeSmallRegularFiles(@TempDir Path dir) throws IOException {
        Path good = TestModels.write(dir, "good", TinyModels.llama(), GgufWriter.Quantization.F32);
        String deep = "{% if true %}".repeat(100) + "x" + "{% endif %}".repeat(100);
        assertThatThrownBy(() -> TestModels.open(good, Map.of("template", deep)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("100 levels");
        assertThatThrownBy(() -> TestModels.open(good, Map.of("template_file", dir.toString())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a regular file");
        Path big = dir.resolve("big.jinja");
        Files.write(big, new byte[(int) LoadSettings.MAX_TEMPLATE_FILE_BYTES + 1]);
        assertThatThrownBy(() -> TestModels.open(good, Map.of("template_file", big.toString())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bytes, more than");
        assertThatThrownBy(() -> TestModels.open(good, Map.of("ctx", "256", "batch", "512")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch must be in [1, ctx=256]");
        assertThatThrownBy(() -> TestModels.open(good, Map.of("threads", "100000")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads must be in [1, ");
        Path huge = dir.resolve("huge-layers.gguf");
        GgufWriter.write(TinyModels.llama(), huge, GgufWriter.Quantization.F32, Map.of("llama.embedding_length",
                1 << 16, "llama.attention.head_count", 4, "llama.attention.head_count_kv", 4));
        assertThatThrownBy(() -> TestModels.open(huge, Map.of("ctx", "1048576")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("KV cache");
    }

    private static Map<String, Object> meta(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    private static Case write(Path dir, String name, CheckpointModel model, Map<String, Object> overrides,
                              String... mentions) throws IOException {
        Path file = dir.resolve(name + ".gguf");
        GgufWriter.write(model, file, GgufWriter.Quantization.F32, overrides);
        return new Case(name, file, Arrays.asList(mentions));
    }

    /** Changes the ggml type of every tensor entry of type {@code from} to {@code to}; returns how many. */
    private static int relabel(byte[] file, CheckpointModel model, int from, int to) {
        ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int count = 0;
        for (String hf : model.shapes().keySet()) {
            byte[] name = GgufWriter.ggufName(hf).getBytes(StandardCharsets.UTF_8);
            int at = indexOf(file, name);
            if (at < 8) {
                continue;
            }
            int dimsAt = at + name.length;
            int dims = bb.getInt(dimsAt);
            int typeAt = dimsAt + 4 + 8 * dims;
            if (bb.getInt(typeAt) == from) {
                bb.putInt(typeAt, to);
                count++;
            }
        }
        return count;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            // a tensor entry's name is preceded by its 8-byte length
            if (i >= 8 && ByteBuffer.wrap(haystack, i - 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() == needle.length) {
                return i;
            }
        }
        return -1;
    }
}
