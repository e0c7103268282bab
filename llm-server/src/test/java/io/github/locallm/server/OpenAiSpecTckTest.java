package io.github.locallm.server;

import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;

/** The provider TCK through the server: an {@code openai:} model pointing at the served tiny GGUF. */
class OpenAiSpecTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        // the tiny model cannot embed: the client is told so, as a user of a chat-only model would
        return LocalLlm.open("openai:" + Fixture.base() + "/v1?model=tiny&embeddings=false");
    }

    @Override
    protected int completionTokenTolerance() {
        return 3 * maxTokens();
    }

    /** Per-call openai options are request fields the client forwards as given, by design. */
    @Override
    protected boolean rejectsUnknownBackendOptions() {
        return false;
    }
}
