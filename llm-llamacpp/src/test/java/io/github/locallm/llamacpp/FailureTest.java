package io.github.locallm.llamacpp;

import io.github.locallm.LlmException;
import io.github.locallm.ModelLoadException;
import io.github.locallm.ModelNotFoundException;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bad input of every kind, one after the other in one JVM, which must keep working afterwards. */
class FailureTest {

    @TempDir
    Path dir;

    @Test
    void badFilesAreRejectedWithClearMessagesAndTheJvmSurvives() throws IOException {
        Path good = TestModels.write(dir, "good", TinyModels.llama(), GgufWriter.Quantization.Q8_0);

        assertThatThrownBy(() -> TestModels.open(dir.resolve("missing.gguf"), Map.of()))
                .isInstanceOf(ModelNotFoundException.class).hasMessageContaining("missing.gguf")
                .hasMessageContaining("does not exist");

        assertThatThrownBy(() -> TestModels.open(dir, Map.of()))
                .isInstanceOf(LlmException.class).hasMessageContaining("is a directory");

        byte[] bytes = Files.readAllBytes(good);
        Path truncated = dir.resolve("truncated.gguf");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> TestModels.open(truncated, Map.of()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("truncated.gguf")
                .hasMessageContaining("truncated");

        Path headerOnly = dir.resolve("header-only.gguf");
        Files.write(headerOnly, Arrays.copyOf(bytes, 100));
        assertThatThrownBy(() -> TestModels.open(headerOnly, Map.of()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("truncated");

        Path text = dir.resolve("notes.gguf");
        Files.writeString(text, "these are my notes, not a model\n".repeat(10));
        assertThatThrownBy(() -> TestModels.open(text, Map.of()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("notes.gguf")
                .hasMessageContaining("GGUF magic");

        Path empty = dir.resolve("empty.gguf");
        Files.write(empty, new byte[0]);
        assertThatThrownBy(() -> TestModels.open(empty, Map.of()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("too short");

        Path badVersion = dir.resolve("v9.gguf");
        byte[] v9 = bytes.clone();
        ByteBuffer.wrap(v9).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 9);
        Files.write(badVersion, v9);
        assertThatThrownBy(() -> TestModels.open(badVersion, Map.of()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("version 9");

        Path hugeCount = dir.resolve("count.gguf");
        byte[] hc = bytes.clone();
        ByteBuffer.wrap(hc).order(ByteOrder.LITTLE_ENDIAN).putLong(8, Long.MAX_VALUE / 2);
        Files.write(hugeCount, hc);
        assertThatThrownBy(() -> TestModels.open(hugeCount, Map.of()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("implausible");

        Path unknownArch = dir.resolve("unknown-arch.gguf");
        GgufWriter.write(TinyModels.llama(), unknownArch, GgufWriter.Quantization.F32,
                Map.of("general.architecture", "nonsense"));
        assertThatThrownBy(() -> TestModels.open(unknownArch, Map.of()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("unknown-arch.gguf");

        Path wrongShape = dir.resolve("wrong-shape.gguf");
        GgufWriter.write(TinyModels.llama(), wrongShape, GgufWriter.Quantization.F32,
                Map.of("llama.embedding_length", 32));
        assertThatThrownBy(() -> TestModels.open(wrongShape, Map.of()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("wrong-shape.gguf");

        for (Map<String, String> bad : List.of(Map.of("ctx", "abc"), Map.of("ctx", "8"), Map.of("threads", "0"),
                Map.of("kv_type", "q9_9"), Map.of("embedding", "true", "pooling", "mean", "engine", LoadSettings.ENGINE_JLLAMA),
                Map.of("embedding", "true", "pooling", "none", "engine", LoadSettings.ENGINE_JLLAMA),
                Map.of("embedding", "true", "pooling", "rank"), Map.of("embedding", "true", "pooling", "sum"),
                Map.of("pooling", "last"), Map.of("mmap", "maybe"),
                Map.of("colour", "blue"), Map.of("lib_path", dir.toString()))) {
            assertThatThrownBy(() -> TestModels.open(good, bad)).as(bad.toString())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(bad.keySet().stream().filter(k -> !k.equals("embedding")).findFirst()
                            .orElseThrow())
                    .hasMessageContaining(good.toString());
        }

        LlmBackend model = TestModels.open(good, Map.of());
        try {
            assertThatThrownBy(() -> TestModels.complete(model, "x", TestModels.greedy(4).toBuilder()
                    .backendOption("llamacpp", "grammar", "root ::= \"a\" | undefined-rule").build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("undefined-rule");
            assertThat(TestModels.complete(model, "The quick brown fox", TestModels.greedy(8)).result()
                    .completionTokens()).isEqualTo(8);
        } finally {
            model.close();
        }
    }

    @Test
    void aSecondNativeBuildInTheSameJvmIsRefused() throws IOException {
        Path good = TestModels.write(dir, "lib", TinyModels.llama(), GgufWriter.Quantization.F32);
        TestModels.open(good, Map.of("engine", LoadSettings.ENGINE_JLLAMA)).close();
        Path other = Files.createDirectories(dir.resolve("other-build"));
        Files.writeString(other.resolve(NativeRuntime.libraryFileName()), "not loaded");
        assertThatThrownBy(() -> TestModels.open(good, Map.of("lib_path", other.toString())))
                .isInstanceOf(io.github.locallm.BackendUnavailableException.class)
                .hasMessageContaining("already loaded").hasMessageContaining(other.toString());

        // the same for the current llama.cpp: a second build directory is refused, nothing of it is loaded
        TestModels.open(good, Map.of()).close();
        Path current = Files.createDirectories(dir.resolve("current-build"));
        for (String lib : List.of("libllama.so", "libggml.so", "libggml-base.so")) {
            Files.writeString(current.resolve(lib), "not loaded");
        }
        assertThatThrownBy(() -> TestModels.open(good, Map.of("lib_path", current.toString())))
                .isInstanceOf(io.github.locallm.BackendUnavailableException.class)
                .hasMessageContaining("already loaded").hasMessageContaining(current.toString());
    }

    @Test
    void useAfterCloseThrowsInsteadOfBlocking() {
        Path good = TestModels.write(dir, "closing", TinyModels.gqa(), GgufWriter.Quantization.F32);
        LlmBackend a = TestModels.open(good, Map.of());
        LlmBackend b = TestModels.open(good, Map.of());
        a.close();
        a.close();
        assertThatThrownBy(() -> TestModels.complete(a, "x", TestModels.greedy(2)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> a.tokenize("x")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> a.detokenize(new int[] {1})).isInstanceOf(IllegalStateException.class);
        // the other handle on the same native model still works
        assertThat(TestModels.complete(b, "The quick", TestModels.greedy(3)).result().completionTokens()).isEqualTo(3);
        assertThatThrownBy(() -> b.detokenize(new int[] {100_000}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside the vocabulary");
        b.close();
    }

    @Test
    void jllamaReopeningTheSameModelReusesTheNativeModel() {
        // models loaded by this JVM only grow in number (see SharedModel): an open that loads none reused one
        Path good = TestModels.write(dir, "shared", TinyModels.tied(), GgufWriter.Quantization.F32);
        int before = SharedModel.loadedCount();
        LlmBackend a = TestModels.open(good, Map.of("ctx", "256", "engine", LoadSettings.ENGINE_JLLAMA));
        assertThat(SharedModel.loadedCount()).as("the first open loads the model").isEqualTo(before + 1);
        LlmBackend b = TestModels.open(good, Map.of("ctx", "256", "engine", LoadSettings.ENGINE_JLLAMA));
        assertThat(SharedModel.loadedCount()).as("a second handle shares it").isEqualTo(before + 1);
        assertThat(TestModels.complete(b, "The quick", TestModels.greedy(3)).text())
                .isEqualTo(TestModels.complete(a, "The quick", TestModels.greedy(3)).text());
        a.close();
        b.close();
        LlmBackend c = TestModels.open(good, Map.of("ctx", "256", "engine", LoadSettings.ENGINE_JLLAMA));
        assertThat(SharedModel.loadedCount()).as("reopened after every handle closed").isEqualTo(before + 1);
        LlmBackend e = TestModels.open(good, Map.of("ctx", "256", "template", "chatml", "engine", LoadSettings.ENGINE_JLLAMA));
        assertThat(SharedModel.loadedCount()).as("a template override needs no second native model")
                .isEqualTo(before + 1);
        e.close();
        LlmBackend d = TestModels.open(good, Map.of("ctx", "512", "engine", LoadSettings.ENGINE_JLLAMA));
        assertThat(SharedModel.loadedCount()).as("another context size is another native model")
                .isEqualTo(before + 2);
        c.close();
        d.close();
    }
}
