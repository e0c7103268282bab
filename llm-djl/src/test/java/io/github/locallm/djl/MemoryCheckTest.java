package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.locallm.ModelLoadException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A checkpoint shaped like Llama 2 7B (a sparse file: the header is real, the data never written) passes
 * every Java check, and the memory check refuses it before anything is allocated when the memory available
 * is less than its weights and cache need, giving the bytes.
 */
class MemoryCheckTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aSevenBillionParameterCheckpointNeedsItsBytes() throws IOException {
        Path dir = Files.createTempDirectory("djl-7b-");
        try {
            int vocab = 32000;
            int h = 4096;
            int inter = 11008;
            int layers = 32;
            ObjectNode config = JSON.createObjectNode();
            config.putArray("architectures").add("LlamaForCausalLM");
            config.put("vocab_size", vocab).put("hidden_size", h).put("intermediate_size", inter)
                    .put("num_hidden_layers", layers).put("num_attention_heads", 32).put("num_key_value_heads", 32)
                    .put("max_position_embeddings", 4096).put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0);
            Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(config));
            Map<String, long[]> shapes = Checkpoint.expectedShapes(CheckpointConfig.parse(config, "7b"));
            ObjectNode header = JSON.createObjectNode();
            long offset = 0;
            long params = 0;
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                long n = 1;
                for (long d : e.getValue()) {
                    n *= d;
                }
                ObjectNode t = header.putObject(e.getKey());
                t.put("dtype", "F32");
                ArrayNodes.add(t.putArray("shape"), e.getValue());
                t.putArray("data_offsets").add(offset).add(offset + 4 * n);
                offset += 4 * n;
                params += n;
            }
            byte[] json = JSON.writeValueAsBytes(header);
            Path weights = dir.resolve("model.safetensors");
            try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
                f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
                f.write(json);
                f.setLength(8 + json.length + offset);
            }
            Files.copy(TinyCheckpoints.dir(TinyCheckpoints.Variant.GQA_F32).resolve("tokenizer.json"),
                    dir.resolve("tokenizer.json"));
            Checkpoint ckpt = Checkpoint.read(dir, "7b");
            assertThat(params).isBetween(6_700_000_000L, 6_800_000_000L);
            long cache = 2L * layers * h * 4096 * 4;
            long needed = 4 * params + cache;
            assertThat(ckpt.weightBytes()).isEqualTo(4 * params);
            assertThatThrownBy(() -> DjlProvider.checkMemory(ckpt, 4096, 16L << 30))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("needs about " + needed + " bytes")
                    .hasMessageContaining("only " + (16L << 30) + " bytes are available");
            assertThatCode(() -> DjlProvider.checkMemory(ckpt, 4096, 64L << 30)).doesNotThrowAnyException();
            assertThat(DjlProvider.availableMemory()).as("the OS reports available memory").isPositive();
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Adds longs to a JSON array. */
    private static final class ArrayNodes {
        static void add(com.fasterxml.jackson.databind.node.ArrayNode a, long[] values) {
            for (long v : values) {
                a.add(v);
            }
        }
    }
}
