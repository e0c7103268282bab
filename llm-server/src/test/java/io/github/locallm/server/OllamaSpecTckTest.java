package io.github.locallm.server;

import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;

/** The provider TCK through the server: an {@code ollama:} model pointing at the served tiny GGUF. */
class OllamaSpecTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("ollama://127.0.0.1:" + Fixture.SERVER.port() + "/tiny");
    }

    @Override
    protected int completionTokenTolerance() {
        // a random model emits byte tokens that need not re-tokenize to the same count
        return 3 * maxTokens();
    }
}
