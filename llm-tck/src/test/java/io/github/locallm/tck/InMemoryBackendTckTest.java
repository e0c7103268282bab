package io.github.locallm.tck;

import io.github.locallm.ModelSpec;
import io.github.locallm.memory.InMemoryProvider;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.OpenRequest;
import java.util.Map;

/** Runs the SPI TCK against the in-memory test backend. */
class InMemoryBackendTckTest extends LlmBackendTck {
    @Override
    protected LlmBackend openBackend() {
        return new InMemoryProvider().open(new OpenRequest(ModelSpec.parse("memory:tiny"), Map.of("ctx", "512")));
    }
}
