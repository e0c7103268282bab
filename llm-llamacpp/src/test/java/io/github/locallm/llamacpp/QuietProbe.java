package io.github.locallm.llamacpp;

import io.github.locallm.ChatMessage;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.spi.LlmBackend;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Run in a child JVM by {@link QuietNativeTest}: exercises loading, generation, chat, embeddings and
 * failures, writing nothing itself, so whatever appears on its stdout or stderr came from native code, the
 * binding or the backend's log (which must hold only the two warnings asked for: {@code gpu_layers} on the
 * CPU-only build and a {@code ctx} above the trained length). Returns normally (exit status 0) when everything worked.
 */
public final class QuietProbe {

    private QuietProbe() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        // both engines, one after the other in one JVM
        for (String engine : List.of(LoadSettings.ENGINE_LLAMACPP, LoadSettings.ENGINE_JLLAMA)) {
            Path model = TestModels.write(dir, "quiet-" + engine, TinyModels.llama(), GgufWriter.Quantization.Q8_0);
            LlmBackend m = TestModels.open(model, Map.of("gpu_layers", "4", "engine", engine));
            int tokens = TestModels.complete(m, "The quick brown fox", TestModels.greedy(8)).result().completionTokens();
            TestModels.chat(m, List.of(ChatMessage.user("Hello <|im_start|>")), TestModels.greedy(8));
            try {
                TestModels.complete(m, "x", TestModels.greedy(2).toBuilder()
                        .backendOption("llamacpp", "grammar", "root ::= oops").build());
                System.exit(3);
            } catch (IllegalArgumentException expected) {
                // rejected in Java, as it should be
            }
            m.close();
            // A context above the trained 2048 tokens is allocated, with one warning.
            TestModels.open(model, Map.of("ctx", "4096", "engine", engine)).close();
            LlmBackend e = TestModels.open(model, Map.of("embedding", "true", "engine", engine));
            float[] v = e.embed(List.of("hello")).get(0);
            e.close();
            Path bad = dir.resolve(engine + "-bad.gguf");
            Files.writeString(bad, "not a model");
            try {
                TestModels.open(bad, Map.of("engine", engine));
                System.exit(4);
            } catch (io.github.locallm.LlmException expected) {
                // rejected in Java, as it should be
            }
            Path arch = dir.resolve(engine + "-arch.gguf");
            GgufWriter.write(TinyModels.llama(), arch, GgufWriter.Quantization.F32, Map.of("general.architecture", "nonsense"));
            try {
                TestModels.open(arch, Map.of("engine", engine));
                System.exit(6);
            } catch (io.github.locallm.ModelLoadException expected) {
                // refused by llama.cpp, quietly
            }
            if (tokens != 8 || v.length != 64) {
                System.exit(5);
            }
        }
        // main returns normally: the JVM must exit although the binding's native worker threads are non-daemon
    }
}
