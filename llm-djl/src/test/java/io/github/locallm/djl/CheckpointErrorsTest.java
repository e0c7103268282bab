package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.locallm.ModelLoadException;
import io.github.locallm.ModelNotFoundException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Bad checkpoints: each fails with a clear exception from the Java-side checks, which run before the
 * engine, the tokenizer library or any tensor is touched ({@link Checkpoint#read} is pure Java; the provider
 * calls it first).
 */
class CheckpointErrorsTest {

    private static Path copy(String name) {
        return TinyCheckpoints.copy(TinyCheckpoints.Variant.GQA_F32, name);
    }

    private static void edit(Path file, String from, String to) throws IOException {
        String s = Files.readString(file);
        assertThat(s).contains(from);
        Files.writeString(file, s.replace(from, to));
    }

    @Test
    void missingDirectory() {
        Path dir = TinyCheckpoints.dir(TinyCheckpoints.Variant.GQA_F32).resolveSibling("no-such-model");
        assertThatThrownBy(() -> Backends.open(dir, Map.of()))
                .isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("does not exist").hasMessageContaining(dir.toString());
    }

    @Test
    void missingConfig() throws IOException {
        Path dir = copy("no-config");
        Files.delete(dir.resolve("config.json"));
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no config.json in " + dir);
        assertThat(new DjlProvider().accepts(dir)).isFalse();
    }

    @Test
    void unsupportedArchitectureIsNamedWithTheSupportedOnes() throws IOException {
        Path dir = copy("gpt2");
        edit(dir.resolve("config.json"), "LlamaForCausalLM", "GPT2LMHeadModel");
        assertThatThrownBy(() -> Backends.open(dir, Map.of()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("GPT2LMHeadModel")
                .hasMessageContaining("LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM");
    }

    @Test
    void missingTokenizer() throws IOException {
        Path dir = copy("no-tokenizer");
        Files.delete(dir.resolve("tokenizer.json"));
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no tokenizer.json in " + dir);
    }

    @Test
    void shapesDisagreeingWithTheConfig() throws IOException {
        Path dir = copy("bad-shape");
        edit(dir.resolve("config.json"), "\"intermediate_size\" : 128", "\"intermediate_size\" : 96");
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("disagree with its config.json")
                .hasMessageContaining("mlp.gate_proj.weight is [128, 64], config.json implies [96, 64]");
    }

    @Test
    void kvHeadsDisagreeingWithTheWeights() throws IOException {
        Path dir = copy("bad-kv");
        edit(dir.resolve("config.json"), "\"num_key_value_heads\" : 2", "\"num_key_value_heads\" : 4");
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("self_attn.k_proj.weight is [32, 64], config.json implies [64, 64]");
    }

    @Test
    void truncatedSafetensors() throws IOException {
        Path dir = copy("truncated");
        Path weights = dir.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.setLength(f.length() - 1000);
        }
        assertThatThrownBy(() -> Backends.open(dir, Map.of()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("is truncated").hasMessageContaining(weights.toString());
    }

    @Test
    void garbageSafetensorsHeader() throws IOException {
        Path dir = copy("garbage");
        Files.write(dir.resolve("model.safetensors"), "this is not a safetensors file at all".getBytes());
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("not a valid safetensors file");
    }

    /** Rewrites the safetensors header of a copy, keeping the data section as it is. */
    static void editHeader(Path file, java.util.function.Consumer<ObjectNode> change) throws IOException {
        byte[] all = Files.readAllBytes(file);
        int len = (int) ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = (ObjectNode) json.readTree(new String(all, 8, len, StandardCharsets.UTF_8));
        change.accept(header);
        byte[] h = json.writeValueAsBytes(header);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + all.length - 8 - len).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(h);
        for (int i = h.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        out.put(all, 8 + len, all.length - 8 - len);
        Files.write(file, out.array());
    }

    @Test
    void unreadTensorsOfOtherTypesAreIgnored() throws IOException {
        Path dir = copy("extra-i64");
        editHeader(dir.resolve("model.safetensors"), h -> {
            ObjectNode t = h.putObject("model.layers.0.self_attn.rotary_emb.inv_freq");
            t.put("dtype", "I64");
            t.putArray("shape").add(2);
            t.putArray("data_offsets").add(0).add(16);
        });
        Backends.Parts shared = Backends.sharedParts(TinyCheckpoints.Variant.GQA_F32);
        try (Backends.Parts b = Backends.parts(dir)) {
            int[] prompt = shared.backend().tokenize("Hello");
            assertThat(DecoderRuns.greedy(b.decoder(), prompt, 8, new int[0]))
                    .containsExactly(DecoderRuns.greedy(shared.decoder(), prompt, 8, new int[0]));
        }
    }

    @Test
    void aReadTensorOfAnUnsupportedTypeIsNamed() throws IOException {
        Path dir = copy("norm-i32");
        editHeader(dir.resolve("model.safetensors"),
                h -> ((ObjectNode) h.get("model.norm.weight")).put("dtype", "I32"));
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tensor model.norm.weight").hasMessageContaining("dtype 'I32'");
    }

    @Test
    void missingWeights() throws IOException {
        Path dir = copy("no-weights");
        Files.delete(dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no model.safetensors or model.safetensors.index.json");
    }

    @Test
    void missingShard() throws IOException {
        Path dir = TinyCheckpoints.copy(TinyCheckpoints.Variant.TIED_BF16_SHARDED, "no-shard");
        Path shard;
        try (var files = Files.list(dir)) {
            shard = files.filter(p -> p.getFileName().toString().startsWith("model-00002")).findFirst().orElseThrow();
        }
        Files.delete(shard);
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("shard " + shard.getFileName() + " named in");
    }

    @Test
    void unsupportedRopeScaling() throws IOException {
        Path dir = copy("mrope");
        edit(dir.resolve("config.json"), "\"rope_scaling\" : null",
                "\"rope_scaling\" : {\"rope_type\": \"mrope\", \"factor\": 4.0}");
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("rope_scaling type 'mrope'")
                .hasMessageContaining("default, linear, dynamic, llama3, yarn, longrope");
    }

    @Test
    void corruptConfigJson() throws IOException {
        Path dir = copy("corrupt-config");
        Files.writeString(dir.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"");
        assertThatThrownBy(() -> Checkpoint.read(dir, "m"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("config.json");
    }

    @Test
    void corruptTokenizerIsReportedAsALoadError() throws IOException {
        Path dir = copy("corrupt-tokenizer");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Nonsense\"}}");
        assertThatThrownBy(() -> Backends.open(dir, Map.of()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tokenizer.json")
                .hasMessageContaining("not a valid Hugging Face tokenizer file");
    }
}
