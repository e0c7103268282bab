package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.internal.KnownBackends;
import org.junit.jupiter.api.Test;

/** Core's catalogue of the project's backends (the hint for a scheme nobody installed) matches this provider. */
class ProviderCatalogueTest {
    @Test
    void coreCatalogueMatchesThisProvider() {
        DjlProvider provider = new DjlProvider();
        assertThat(KnownBackends.mismatches(provider)).as("differences from core's catalogue").isEmpty();
        assertThat(provider.artifact()).hasValue("io.github.locallm:llm-djl");
    }
}
