package io.github.locallm.llamacpp;

import io.github.locallm.ChatMessage;
import io.github.locallm.GenerationOptions;
import io.github.locallm.ModelSpec;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.spi.BackendResult;
import io.github.locallm.spi.CancelSignal;
import io.github.locallm.spi.GenerationRequest;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.OpenRequest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Writes tiny models and drives the backend through its SPI, as core does. */
final class TestModels {

    static final LlamaCppProvider PROVIDER = new LlamaCppProvider();

    static final CancelSignal NEVER = new CancelSignal() {
        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public void onCancel(Runnable action) {
        }
    };

    private TestModels() {
    }

    static Path write(Path dir, String name, CheckpointModel model, GgufWriter.Quantization q) {
        Path file = dir.resolve(name + "-" + q + ".gguf");
        try {
            GgufWriter.write(model, file, q);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /**
     * Opens a model; one thread unless the settings say otherwise, since ggml's worker threads spin-wait and
     * crawl on a machine whose cores are all busy.
     */
    static LlmBackend open(Path file, Map<String, String> settings) {
        Map<String, String> s = new java.util.HashMap<>(settings);
        s.putIfAbsent("threads", "1");
        return PROVIDER.open(new OpenRequest(ModelSpec.parse("llamacpp:" + file), s));
    }

    /**
     * Opens the llamacpp engine on a model file by itself, without a backend around it, for tests of what the
     * engine does below the SPI (its sampler chain); the caller releases it. Settings are read as the provider
     * reads them (one thread unless they say otherwise).
     */
    static Engine openNativeEngine(Path file, Map<String, String> settings) {
        Map<String, String> s = new java.util.HashMap<>(settings);
        s.putIfAbsent("threads", "1");
        ModelSpec spec = ModelSpec.parse("llamacpp:" + file);
        try {
            Path canonical = file.toRealPath();
            GgufFile gguf = GgufFile.read(canonical);
            LoadSettings ls = LoadSettings.parse(new OpenRequest(spec, s), gguf);
            LlamaRuntime rt = LlamaRuntime.load(LlamaRuntime.locate(ls.libPath()).orElseThrow(
                    () -> new IllegalStateException("no llama.cpp libraries for " + LlamaRuntime.platformKey())));
            return NativeEngine.open(rt, canonical, ls, spec.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static GenerationOptions greedy(int maxTokens) {
        return GenerationOptions.builder().temperature(0).maxTokens(maxTokens).build();
    }

    /** The pieces a generation produced and how it ended. */
    record Run(List<String> pieces, BackendResult result) {
        String text() {
            return String.join("", pieces);
        }
    }

    static Run complete(LlmBackend b, String prompt, GenerationOptions o) {
        return run(b, GenerationRequest.completion(prompt, o), NEVER);
    }

    static Run chat(LlmBackend b, List<ChatMessage> messages, GenerationOptions o) {
        return run(b, GenerationRequest.chat(messages, o), NEVER);
    }

    static Run run(LlmBackend b, GenerationRequest r, CancelSignal cancel) {
        List<String> pieces = new ArrayList<>();
        BackendResult result = b.generate(r, pieces::add, cancel);
        return new Run(pieces, result);
    }
}
