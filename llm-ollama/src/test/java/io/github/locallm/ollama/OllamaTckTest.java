package io.github.locallm.ollama;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.Capability;
import org.junit.jupiter.api.Test;
import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.AfterAll;

/**
 * Runs the provider TCK through {@code LocalLlm.open("ollama://...")} against the loopback fake Ollama server, which
 * answers a schema with a value of its first required property, thinks when asked and calls the first offered tool:
 * the client side of schemas, reasoning and tool calls runs here.
 */
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

    @AfterAll
    void stopServer() {
        server.close();
    }

    /** The cases of tools, thinking, schemas (and embeddings) run on this model rather than check a refusal. */
    @Test
    void theModelClaimsWhatTheToolThinkingAndSchemaCasesNeed() {
        for (Capability c : java.util.EnumSet.of(Capability.TOOLS, Capability.THINKING, Capability.JSON_SCHEMA)) {
            assertThat(claims(c)).as("%s", c).isTrue();
        }
    }
}
