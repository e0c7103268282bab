package io.github.locallm.modelkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfCheckpointWriterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void bfloat16RoundsToNearestEven() {
        assertThat(HfCheckpointWriter.toBfloat16(1.0f)).isEqualTo((short) 0x3f80);
        assertThat(HfCheckpointWriter.toBfloat16(-2.0f)).isEqualTo((short) 0xc000);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
        assertThat(HfCheckpointWriter.toBfloat16(1.00390625f)).isEqualTo((short) 0x3f80);
        // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: ties go to 1 + 2^-6.
        assertThat(HfCheckpointWriter.toBfloat16(1.01171875f)).isEqualTo((short) 0x3f82);
        assertThat(HfCheckpointWriter.toBfloat16(1.0040f)).isEqualTo((short) 0x3f81);
        assertThat(HfCheckpointWriter.toBfloat16(Float.NaN) & 0x7fc0).isEqualTo(0x7fc0);
    }

    @Test
    void halfRoundsToNearestEvenAndCoversSubnormalsAndOverflow() {
        assertThat(HfCheckpointWriter.toHalf(1.0f)).isEqualTo((short) 0x3c00);
        assertThat(HfCheckpointWriter.toHalf(-2.5f)).isEqualTo((short) 0xc100);
        assertThat(HfCheckpointWriter.toHalf(65504f)).isEqualTo((short) 0x7bff);
        assertThat(HfCheckpointWriter.toHalf(1e6f)).isEqualTo((short) 0x7c00);
        assertThat(HfCheckpointWriter.toHalf(0x1p-24f)).as("smallest subnormal").isEqualTo((short) 0x0001);
        assertThat(HfCheckpointWriter.toHalf(0x1p-14f)).as("smallest normal").isEqualTo((short) 0x0400);
        assertThat(HfCheckpointWriter.toHalf(0x1p-26f)).as("underflow").isEqualTo((short) 0);
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even.
        assertThat(HfCheckpointWriter.toHalf(1.00048828125f)).isEqualTo((short) 0x3c00);
        assertThat(HfCheckpointWriter.toHalf(1.00146484375f)).isEqualTo((short) 0x3c02);
    }

    @Test
    void writesAConsistentCheckpoint() throws IOException {
        CheckpointModel model = TinyModels.qwen2Bias();
        HfCheckpointWriter.write(model, tmp, HfCheckpointWriter.DType.BF16);
        JsonNode config = JSON.readTree(tmp.resolve("config.json").toFile());
        assertThat(config.path("architectures").get(0).asText()).isEqualTo("Qwen2ForCausalLM");
        assertThat(config.path("num_key_value_heads").asInt()).isEqualTo(2);
        assertThat(config.path("torch_dtype").asText()).isEqualTo("bfloat16");
        assertThat(config.path("rms_norm_eps").asDouble()).isEqualTo(1e-6);

        Map<String, JsonNode> header = header(tmp.resolve("model.safetensors"));
        assertThat(header.keySet()).containsAll(model.shapes().keySet());
        JsonNode q = header.get("model.layers.0.self_attn.q_proj.bias");
        assertThat(q.path("dtype").asText()).isEqualTo("BF16");
        assertThat(q.path("shape").get(0).asLong()).isEqualTo(64);
        long end = header.values().stream().filter(n -> n.has("data_offsets"))
                .mapToLong(n -> n.path("data_offsets").get(1).asLong()).max().orElseThrow();
        long headerLen = headerLength(tmp.resolve("model.safetensors"));
        assertThat(headerLen % 8).isZero();
        assertThat(Files.size(tmp.resolve("model.safetensors"))).isEqualTo(8 + headerLen + end);

        JsonNode tok = JSON.readTree(tmp.resolve("tokenizer.json").toFile());
        assertThat(tok.path("model").path("vocab").size()).isEqualTo(model.tokenizer().size());
        assertThat(tok.path("added_tokens").size()).isEqualTo(3);
        JsonNode tc = JSON.readTree(tmp.resolve("tokenizer_config.json").toFile());
        assertThat(tc.path("chat_template").asText()).isEqualTo(model.chatTemplate());
        assertThat(tc.path("eos_token").asText()).isEqualTo(BpeTokenizer.IM_END);
        JsonNode gen = JSON.readTree(tmp.resolve("generation_config.json").toFile());
        assertThat(gen.path("eos_token_id").size()).isEqualTo(2);
    }

    @Test
    void shardsListEveryTensorOnce() throws IOException {
        CheckpointModel model = TinyModels.tied();
        HfCheckpointWriter.write(model, tmp, HfCheckpointWriter.DType.F32, 50_000);
        assertThat(tmp.resolve("model.safetensors")).doesNotExist();
        JsonNode index = JSON.readTree(tmp.resolve("model.safetensors.index.json").toFile());
        JsonNode map = index.path("weight_map");
        Set<String> files = new HashSet<>();
        long total = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = map.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            files.add(e.getValue().asText());
            Map<String, JsonNode> h = header(tmp.resolve(e.getValue().asText()));
            assertThat(h).as("%s in %s", e.getKey(), e.getValue()).containsKey(e.getKey());
        }
        for (String f : files) {
            for (JsonNode n : header(tmp.resolve(f)).values()) {
                if (n.has("data_offsets")) {
                    total += n.path("data_offsets").get(1).asLong() - n.path("data_offsets").get(0).asLong();
                }
            }
        }
        assertThat(files.size()).isGreaterThan(1);
        assertThat(map.size()).isEqualTo(model.shapes().size());
        assertThat(index.path("metadata").path("total_size").asLong()).isEqualTo(total);
    }

    private static long headerLength(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        return ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private static Map<String, JsonNode> header(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        int len = (int) ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode h = JSON.readTree(new String(b, 8, len, StandardCharsets.UTF_8));
        Map<String, JsonNode> out = new java.util.LinkedHashMap<>();
        h.properties().forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }
}
