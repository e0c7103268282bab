package io.github.locallm.isolation;

import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;

/** The provider TCK on a llama.cpp model opened with {@code isolate=process}. */
class IsolatedTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open(TinyGguf.spec(""));
    }

    @Override
    protected int completionTokenTolerance() {
        // a random model emits byte tokens that need not re-tokenize to the same count
        return 3 * maxTokens();
    }
}
