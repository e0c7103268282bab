package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;

/** The provider TCK on a tiny F32 model. */
class LlamaCppF32TckTest extends TckModels {
    @Override
    GgufWriter.Quantization quantization() {
        return GgufWriter.Quantization.F32;
    }
}
