package io.github.locallm.ollama;

import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.AfterAll;

/** Runs the provider TCK through {@code LocalLlm.open("ollama://...")} against the loopback fake Ollama server. */
class OllamaTckTest extends LlmProviderTck {
    private final FakeOllamaServer server;

    OllamaTckTest() {
        try {
            server = new FakeOllamaServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("ollama://127.0.0.1:" + server.port() + "/fake-llm");
    }

    /** The fake server answers every JSON schema with the same fixed JSON. */
    @Override
    protected boolean followsJsonSchemas() {
        return false;
    }

    @AfterAll
    void stopServer() {
        server.close();
    }
}
