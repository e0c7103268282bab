package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.GgufWriter;

/** The provider TCK on a tiny F32 model. */
class LlamaCppF32TckTest extends TckModels {
    @Override
    GgufWriter.Quantization quantization() {
        return GgufWriter.Quantization.F32;
    }

    /** Tool calls are forced through the shared tool-call grammar. */
    @Override
    protected java.util.List<String> requiredToolChoice() {
        return java.util.List.of("llamacpp", "tool_choice", "required");
    }
}
