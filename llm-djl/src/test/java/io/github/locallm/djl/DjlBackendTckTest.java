package io.github.locallm.djl;

import io.github.locallm.spi.LlmBackend;
import io.github.locallm.tck.LlmBackendTck;
import java.util.Map;

/** The SPI TCK on the backend itself, called without core, on a tiny generated Qwen2 checkpoint. */
class DjlBackendTckTest extends LlmBackendTck {
    @Override
    protected LlmBackend openBackend() {
        return Backends.open(TinyCheckpoints.dir(TinyCheckpoints.Variant.QWEN2_F32), Map.of("ctx", "512"));
    }
}
