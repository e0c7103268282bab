package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;

/** The provider TCK on a tiny F32 model, on the de.kherud:llama engine ({@code engine=jllama}). */
class JllamaF32TckTest extends TckModels {
    @Override
    GgufWriter.Quantization quantization() {
        return GgufWriter.Quantization.F32;
    }

    @Override
    String engine() {
        return LoadSettings.ENGINE_JLLAMA;
    }
}
