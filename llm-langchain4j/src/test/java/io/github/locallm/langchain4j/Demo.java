package io.github.locallm.langchain4j;

import io.github.locallm.GenerationOptions;
import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import io.github.locallm.demo.DemoModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;

/** The project's demo model, opened once per test JVM through the in-process llama.cpp backend. */
final class Demo {
    static final String QUESTION = "Explique-moi Python en une phrase";
    static final Map<String, String> TRAINED = DemoModel.corpus().stream()
            .collect(Collectors.toMap(DemoModel.Exchange::question, DemoModel.Exchange::answer));
    /** Greedy decoding, as the demo model is meant to be run. */
    static final GenerationOptions GREEDY = GenerationOptions.builder().temperature(0).repeatPenalty(1)
            .maxTokens(96).build();

    /** One thread: the model is tiny, and more threads only wait on each other on a busy machine. */
    private static final OpenOptions ONE_THREAD = OpenOptions.builder().threads(1).build();

    private static Path gguf;
    private static LocalLlm chat;
    private static LocalLlm embedder;

    private Demo() {
    }

    static synchronized Path gguf() {
        if (gguf == null) {
            try {
                Path dir = Files.createTempDirectory("locallm-lc4j-");
                dir.toFile().deleteOnExit();
                gguf = DemoModel.extractGguf(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return gguf;
    }

    static synchronized LocalLlm chat() {
        if (chat == null) {
            chat = LocalLlm.open("llamacpp:" + gguf(), ONE_THREAD);
        }
        return chat;
    }

    static synchronized LocalLlm embedder() {
        if (embedder == null) {
            embedder = LocalLlm.open("llamacpp:" + gguf() + "?embedding=true", ONE_THREAD);
        }
        return embedder;
    }
}
