package io.github.locallm.tck;

import io.github.locallm.LocalLlm;

/**
 * Runs the provider TCK against an in-memory model that only completes raw prompts: no chat template, no
 * seed, no tokenizer, so every capability-dependent test checks the refusal side.
 */
class InMemoryCompletionOnlyTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("memory:bare?ctx=256&delay_ms=4&hold_after=100&chat=false&seed=false&tokenize=false");
    }
}
