package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;

/** The provider TCK on a tiny Q8_0 model. */
class LlamaCppQ8TckTest extends TckModels {
    @Override
    GgufWriter.Quantization quantization() {
        return GgufWriter.Quantization.Q8_0;
    }
}
