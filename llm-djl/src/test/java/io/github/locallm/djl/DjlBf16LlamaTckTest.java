package io.github.locallm.djl;

import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;

/** The provider TCK again, on the grouped-query-attention Llama stored in BF16 and widened when loaded. */
class DjlBf16LlamaTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("djl:" + TinyCheckpoints.dir(TinyCheckpoints.Variant.GQA_BF16) + "?ctx=512");
    }

    /**
     * Random weights emit stray bytes that decode to U+FFFD and re-tokenize into more tokens than were
     * generated (16 generated, 26 re-tokenized for the default prompt).
     */
    @Override
    protected int completionTokenTolerance() {
        return maxTokens();
    }
}
