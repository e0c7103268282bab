package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.spi.LlmBackend;
import io.github.locallm.tck.LlmBackendTck;
import java.util.Map;

/** The SPI TCK on the backend itself, called without core, on the tiny F32 model. */
class LlamaCppBackendTckTest extends LlmBackendTck {
    @Override
    protected LlmBackend openBackend() {
        return TestModels.open(TckModels.file(GgufWriter.Quantization.F32), Map.of("ctx", "512"));
    }
}
