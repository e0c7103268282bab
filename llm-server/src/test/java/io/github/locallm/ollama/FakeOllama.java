package io.github.locallm.ollama;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The fake Ollama server of llm-ollama's tests, opened to the server's tests: its model
 * {@value #CHAT_MODEL} calls tools and thinks, which the tiny GGUF models cannot.
 */
public final class FakeOllama implements AutoCloseable {
    /** The fake model that supports tools and thinking. */
    public static final String CHAT_MODEL = FakeOllamaServer.CHAT_MODEL;

    private final FakeOllamaServer server;

    /** Starts the fake server on a loopback port. */
    public FakeOllama() {
        try {
            server = new FakeOllamaServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return the {@code ollama:} spec of the fake chat model */
    public String chatSpec() {
        return "ollama://127.0.0.1:" + server.port() + "/" + CHAT_MODEL;
    }

    /** @return the {@code ollama:} spec of the fake embedding model */
    public String embedSpec() {
        return "ollama://127.0.0.1:" + server.port() + "/" + FakeOllamaServer.EMBED_MODEL;
    }

    /** @param millis how long the fake takes to embed one text */
    public void embedDelayMillis(long millis) {
        server.embedDelayMillis = millis;
    }

    /** @return how many texts the fake has embedded so far */
    public int embedded() {
        return server.embedded.get();
    }

    /** @param millis delay between two tokens of the fake model */
    public void tokenDelayMillis(long millis) {
        server.tokenDelayMillis = millis;
    }

    /** @return how many generations run on the fake server now */
    public int active() {
        return server.active.get();
    }

    @Override
    public void close() {
        server.close();
    }
}
