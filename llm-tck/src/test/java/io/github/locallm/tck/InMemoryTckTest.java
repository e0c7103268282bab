package io.github.locallm.tck;

import io.github.locallm.LocalLlm;

/**
 * Runs the provider TCK against the in-memory test backend, so the contract itself is tested. The model
 * claims JSON mode and embeddings, and holds every generation longer than 100 tokens until it is cancelled,
 * so the cancellation tests always see a generation that is still running.
 */
class InMemoryTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("memory:tiny?ctx=256&delay_ms=4&hold_after=100&json=true&embed=true");
    }
}
