package io.github.locallm.openai;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.internal.KnownBackends;
import org.junit.jupiter.api.Test;

/** Core's catalogue of the project's backends (the hint for a scheme nobody installed) matches this provider. */
class ProviderCatalogueTest {
    @Test
    void coreCatalogueMatchesThisProvider() {
        OpenAiProvider provider = new OpenAiProvider();
        assertThat(KnownBackends.mismatches(provider)).as("differences from core's catalogue").isEmpty();
        assertThat(provider.artifact()).hasValue("io.github.locallm:llm-openai");
    }
}
