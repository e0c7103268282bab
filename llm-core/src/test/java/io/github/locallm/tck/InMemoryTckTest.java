package io.github.locallm.tck;

import io.github.locallm.LocalLlm;

/** Runs the provider TCK against the in-memory test backend, so the contract itself is tested. */
class InMemoryTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("memory:tiny?ctx=256&delay_ms=4");
    }
}
