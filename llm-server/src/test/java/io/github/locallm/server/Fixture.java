package io.github.locallm.server;

import io.github.locallm.LocalLlm;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.TinyModels;
import io.github.locallm.ollama.FakeOllama;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the server's tests share, made once per JVM: a tiny GGUF written by the test (served as
 * {@code tiny}, and as {@code tiny-embed} opened for embeddings) through the real llama.cpp, and the fake
 * Ollama server's tool-calling, thinking model through the {@code ollama:} backend (served as
 * {@code fake}), since the GGUF models cannot call tools.
 */
final class Fixture {
    static final Path GGUF;
    static final LocalLlm TINY;
    static final LocalLlm TINY_EMBED;
    static final FakeOllama FAKE_OLLAMA;
    static final LocalLlm FAKE;
    static final LlmServer SERVER;

    static {
        try {
            Path dir = Files.createTempDirectory("llm-server-test");
            dir.toFile().deleteOnExit();
            GGUF = dir.resolve("tiny.gguf");
            GgufWriter.write(TinyModels.gqa(), GGUF, GgufWriter.Quantization.Q8_0);
            GGUF.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        TINY = LocalLlm.open("llamacpp:" + GGUF + "?ctx=512&threads=2");
        TINY_EMBED = LocalLlm.open("llamacpp:" + GGUF + "?ctx=512&threads=2&embedding=true");
        FAKE_OLLAMA = new FakeOllama();
        FAKE = LocalLlm.open(FAKE_OLLAMA.chatSpec());
        SERVER = LlmServer.builder()
                .model("tiny", TINY)
                .model("tiny-embed", TINY_EMBED)
                .model("fake", FAKE)
                .port(0)
                .concurrency(2)
                .maxTokens(256)
                .start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            SERVER.close();
            FAKE.close();
            FAKE_OLLAMA.close();
            TINY_EMBED.close();
            TINY.close();
        }));
    }

    private Fixture() {
    }

    static String base() {
        return SERVER.baseUri().toString();
    }
}
