package io.github.locallm.djl;

import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;

/**
 * The provider TCK on a tiny generated Qwen2 checkpoint (grouped-query attention, q/k/v biases) saved with the
 * sentence-transformers files of a last-token embedding model, so that the embedding case runs.
 */
class DjlTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("djl:" + TinyCheckpoints.embeddingDir(TinyCheckpoints.Variant.QWEN2_F32) + "?ctx=512");
    }

    /**
     * Random weights emit stray bytes that decode to U+FFFD, which re-tokenizes into more tokens than were
     * generated (16 generated, 22 re-tokenized for the default prompt).
     */
    @Override
    protected int completionTokenTolerance() {
        return maxTokens() / 2;
    }
}
