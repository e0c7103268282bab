package io.github.locallm.modelkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class GgufWriterTest {

    @Test
    void halfPrecisionConversionRoundsToNearestEven() {
        assertThat(GgufWriter.toHalf(0f)).isEqualTo((short) 0);
        assertThat(GgufWriter.toHalf(1f)).isEqualTo((short) 0x3C00);
        assertThat(GgufWriter.toHalf(-2f)).isEqualTo((short) 0xC000);
        assertThat(GgufWriter.toHalf(65504f)).isEqualTo((short) 0x7BFF);
        assertThat(GgufWriter.toHalf(1e6f)).isEqualTo((short) 0x7C00);
        assertThat(GgufWriter.toHalf(5.9604645e-8f)).isEqualTo((short) 0x0001);
        assertThat(GgufWriter.toHalf(1.0009765625f)).isEqualTo((short) 0x3C01);
        assertThat(GgufWriter.toHalf(1.00048828125f)).as("tie goes to even").isEqualTo((short) 0x3C00);
    }

    @Test
    void ropePermutationInterleavesHalves() {
        // one head of dimension 4, rows [a0, a1, b0, b1] become [a0, b0, a1, b1]
        float[] rows = {0, 0, 1, 1, 2, 2, 3, 3};
        assertThat(GgufWriter.permuteRope(rows, 1, 4)).containsExactly(0, 0, 2, 2, 1, 1, 3, 3);
    }

    @Test
    void fileHasHeaderMetadataAndAlignedData(@TempDir Path dir) throws IOException {
        CheckpointModel m = TinyModels.gqa();
        Path f32 = dir.resolve("m32.gguf");
        Path q8 = dir.resolve("m8.gguf");
        GgufWriter.write(m, f32, GgufWriter.Quantization.F32);
        GgufWriter.write(m, q8, GgufWriter.Quantization.Q8_0, Map.of("general.name", "renamed"));
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f32)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(0)).isEqualTo(GgufWriter.MAGIC);
        assertThat(b.getInt(4)).isEqualTo(3);
        assertThat(b.getLong(8)).isEqualTo(m.shapes().size());
        assertThat(Files.size(f32) % GgufWriter.ALIGNMENT).isZero();
        long floats = m.config().parameterCount();
        assertThat(Files.size(f32)).isGreaterThan(floats * 4).isLessThan(floats * 4 + 64 * 1024);
        assertThat(Files.size(q8)).isLessThan(Files.size(f32) / 2);
        String text = new String(Files.readAllBytes(q8), StandardCharsets.ISO_8859_1);
        assertThat(text).contains("llama.attention.head_count_kv", "tokenizer.ggml.merges", "tokenizer.chat_template",
                "blk.1.ffn_down.weight", "renamed", "gpt-2");
    }

    @Test
    void lazyModelsWriteTheSameBytesAsEagerOnes(@TempDir Path dir) throws IOException {
        CheckpointModel eager = TinyModels.qwen2Bias();
        CheckpointModel lazy = TinyModels.randomLazy(eager.config(), eager.tokenizer(), TinyModels.DEFAULT_SEED + 2);
        assertThat(lazy.isLazy()).isTrue();
        GgufWriter.write(eager, dir.resolve("e.gguf"), GgufWriter.Quantization.Q8_0);
        GgufWriter.write(lazy, dir.resolve("l.gguf"), GgufWriter.Quantization.Q8_0);
        assertThat(Files.readAllBytes(dir.resolve("l.gguf"))).isEqualTo(Files.readAllBytes(dir.resolve("e.gguf")));
    }

    @Test
    void presetsAreTinyAndShaped() {
        for (CheckpointModel m : new CheckpointModel[] {TinyModels.llama(), TinyModels.gqa(), TinyModels.qwen2Bias(),
                TinyModels.tied()}) {
            assertThat(m.config().parameterCount() * 4).isLessThan(1_000_000);
            long sum = 0;
            for (Tensor t : m.tensors().values()) {
                sum += t.data().length;
            }
            assertThat(sum).isEqualTo(m.config().parameterCount());
        }
        assertThat(TinyModels.gqa().config().numKvHeads()).isLessThan(TinyModels.gqa().config().numHeads());
        assertThat(TinyModels.qwen2Bias().tensors()).containsKey("model.layers.0.self_attn.q_proj.bias");
        assertThat(TinyModels.tied().tensors()).doesNotContainKey("lm_head.weight");
        assertThat(TinyModels.benchmarkConfig().parameterCount()).isBetween(180_000_000L, 230_000_000L);
        assertThat(TinyModels.llama().tensors().get("model.norm.weight").data())
                .containsExactly(TinyModels.llama().tensors().get("model.norm.weight").data());
    }
}
