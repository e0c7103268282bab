package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.Tensor;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Reading through many small mappings (the path files over 2 GB take) and building tensors from many
 * pieces give exactly the values of a single pass.
 */
class SafetensorsReadTest {

    @ParameterizedTest
    @EnumSource(value = TinyCheckpoints.Variant.class, names = {"LLAMA_F32", "GQA_BF16", "QWEN2_F16"})
    void smallWindowsReadTheStoredValues(TinyCheckpoints.Variant v) throws IOException {
        Path file = TinyCheckpoints.dir(v).resolve("model.safetensors");
        // 10 bytes: windows end inside elements of 4 bytes and cross tensor rows.
        SafetensorsFile f = SafetensorsFile.open(file, "m", 10);
        String name = "model.embed_tokens.weight";
        SafetensorsFile.Entry e = f.entries().get(name);
        Tensor original = TinyCheckpoints.model(v).tensors().get(name);
        FloatBuffer out = FloatBuffer.allocate((int) e.elements());
        f.readF32(e, 0, out);
        float[] read = out.array();
        for (int i = 0; i < read.length; i++) {
            assertThat(read[i]).as("element %d", i).isEqualTo(stored(original.data()[i], v.dtype));
        }
        FloatBuffer tail = FloatBuffer.allocate(100);
        f.readF32(e, e.elements() - 100, tail);
        for (int i = 0; i < 100; i++) {
            assertThat(tail.get(i)).isEqualTo(read[read.length - 100 + i]);
        }
    }

    @Test
    void aFileShortenedAfterItsHeaderWasReadIsReportedNotMapped() throws IOException {
        Path dir = TinyCheckpoints.copy(TinyCheckpoints.Variant.LLAMA_F32, "shortened");
        Path file = dir.resolve("model.safetensors");
        SafetensorsFile f = SafetensorsFile.open(file, "m", 1 << 20);
        SafetensorsFile.Entry last = f.entries().values().stream()
                .max(java.util.Comparator.comparingLong(SafetensorsFile.Entry::end)).orElseThrow();
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 4);
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> f.map(last))
                .isInstanceOf(IOException.class).hasMessageContaining("shortened");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> f.readF32(last, 0, FloatBuffer.allocate(4)))
                .isInstanceOf(IOException.class).hasMessageContaining("shortened");
        SafetensorsFile.Entry first = f.entries().values().stream()
                .min(java.util.Comparator.comparingLong(SafetensorsFile.Entry::begin)).orElseThrow();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> f.map(first))
                .as("any tensor: the file no longer matches its header").isInstanceOf(IOException.class);
    }

    private static float stored(float f, HfCheckpointWriter.DType dtype) {
        switch (dtype) {
            case BF16:
                return Float.intBitsToFloat((HfCheckpointWriter.toBfloat16(f) & 0xffff) << 16);
            case F16:
                return SafetensorsFile.halfToFloat(HfCheckpointWriter.toHalf(f));
            default:
                return f;
        }
    }

    @ParameterizedTest
    @EnumSource(value = TinyCheckpoints.Variant.class, names = {"TIED_F32", "QWEN2_F16"})
    void tensorsBuiltFromPiecesGiveTheSameLogits(TinyCheckpoints.Variant v) {
        Checkpoint ckpt = Checkpoint.read(TinyCheckpoints.dir(v), "m");
        Backends.Parts whole = Backends.sharedParts(v);
        int[] prompt = whole.backend().tokenize("Hello, world! How are you today?");
        // 1 KB pieces: the embedding is built from about 90 pieces joined in the engine.
        try (LlamaDecoder pieces = LlamaDecoder.load(ckpt, Engine.getEngine("PyTorch").newBaseManager(), 1024, false)) {
            float[] a;
            float[] b;
            try (LlamaDecoder.KvCache c1 = pieces.newCache(prompt.length);
                 LlamaDecoder.KvCache c2 = whole.decoder().newCache(prompt.length)) {
                a = pieces.forward(prompt, c1, true);
                b = whole.decoder().forward(prompt, c2, true);
            }
            assertThat(a).containsExactly(b);
        }
    }

    @Test
    void halfConversionCoversSpecialValues() {
        assertThat(SafetensorsFile.halfToFloat((short) 0x3c00)).isEqualTo(1.0f);
        assertThat(SafetensorsFile.halfToFloat((short) 0xc000)).isEqualTo(-2.0f);
        assertThat(SafetensorsFile.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(SafetensorsFile.halfToFloat((short) 0x7bff)).isEqualTo(65504f);
        assertThat(SafetensorsFile.halfToFloat((short) 0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(SafetensorsFile.halfToFloat((short) 0x8000)).isEqualTo(-0.0f);
        assertThat(Float.isNaN(SafetensorsFile.halfToFloat((short) 0x7e00))).isTrue();
        for (int bits = 0; bits < 0x7c00; bits += 7) {
            float f = SafetensorsFile.halfToFloat((short) bits);
            assertThat(HfCheckpointWriter.toHalf(f)).as("round trip of %x", bits).isEqualTo((short) bits);
        }
    }
}
