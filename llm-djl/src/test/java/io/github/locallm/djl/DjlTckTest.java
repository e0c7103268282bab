package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.Capability;
import org.junit.jupiter.api.Test;
import io.github.locallm.LocalLlm;
import io.github.locallm.tck.LlmProviderTck;

/**
 * The provider TCK on a tiny generated Qwen2 checkpoint (grouped-query attention, q/k/v biases) with QwQ's chat
 * template (tools, and reasoning opened by the prompt when asked to think), saved with the sentence-transformers
 * files of a last-token embedding model, so that the tool, thinking and embedding cases run.
 */
class DjlTckTest extends LlmProviderTck {
    @Override
    protected LocalLlm openModel() {
        return LocalLlm.open("djl:" + TinyCheckpoints.embeddingDir(TinyCheckpoints.Variant.QWEN2_QWQ_F32)
                + "?ctx=1024");
    }

    /**
     * Random weights emit stray bytes that decode to U+FFFD, which re-tokenizes into more tokens than were
     * generated (16 generated, 22 re-tokenized for the default prompt).
     */
    @Override
    protected int completionTokenTolerance() {
        return maxTokens() / 2;
    }

    /** The cases of tools, thinking, schemas (and embeddings) run on this model rather than check a refusal. */
    @Test
    void theModelClaimsWhatTheToolThinkingAndSchemaCasesNeed() {
        for (Capability c : java.util.EnumSet.of(Capability.TOOLS,
                Capability.TOOL_CHOICE, Capability.THINKING, Capability.JSON_SCHEMA, Capability.EMBEDDINGS)) {
            assertThat(claims(c)).as("%s", c).isTrue();
        }
    }
}
