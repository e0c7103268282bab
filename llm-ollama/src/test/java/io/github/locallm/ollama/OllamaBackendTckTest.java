package io.github.locallm.ollama;

import io.github.locallm.spi.LlmBackend;
import io.github.locallm.tck.LlmBackendTck;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.AfterAll;

/** The SPI TCK on the backend itself, called without core, against the loopback fake Ollama server. */
class OllamaBackendTckTest extends LlmBackendTck {
    private final FakeOllamaServer server;

    OllamaBackendTckTest() {
        try {
            server = new FakeOllamaServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected LlmBackend openBackend() {
        return TestSupport.open(server, "fake-llm");
    }

    @AfterAll
    void stopServer() {
        server.close();
    }
}
