package io.github.locallm.tck;

import io.github.locallm.LocalLlm;

/**
 * Runs the provider TCK against an in-memory model that can neither tokenize nor count tokens, so the
 * "capability not claimed" checks and the estimated chat budget are exercised.
 */
class InMemoryWithoutTokenizerTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("memory:plain?ctx=320&delay_ms=4&hold_after=100&tokenize=false");
    }
}
