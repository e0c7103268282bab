package io.github.locallm.openai;

import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.AfterAll;

/** Runs the provider TCK through {@code LocalLlm.open("openai:...")} against the loopback fake vLLM server. */
class VllmTckTest extends LlmProviderTck {
    private final FakeOpenAiServer server;

    VllmTckTest() {
        try {
            server = new FakeOpenAiServer(FakeOpenAiServer.Flavour.VLLM);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fake server answers every JSON schema with the same fixed JSON. */
    @Override
    protected boolean followsJsonSchemas() {
        return false;
    }

    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("openai:" + server.url() + "?model=" + FakeOpenAiServer.MODEL);
    }


    @AfterAll
    void stopServer() {
        server.close();
    }

    /** Per-call openai options are request fields forwarded as given, by design. */
    @Override
    protected boolean rejectsUnknownBackendOptions() {
        return false;
    }

    /** The server renders and tokenizes prompts; its tokenize endpoint reads special-token text as such. */
    @Override
    protected boolean tokenizesPrompts() {
        return false;
    }
}
