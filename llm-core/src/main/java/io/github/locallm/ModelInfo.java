package io.github.locallm;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What an open model is.
 *
 * @param backend the backend's name ({@code "llamacpp"})
 * @param model the model's name or path
 * @param contextLength the context window in tokens the model was opened with
 * @param capabilities what the model can do
 * @param details backend-specific facts (architecture, quantization, parameter count...)
 */
public record ModelInfo(String backend, String model, int contextLength, Set<Capability> capabilities,
                        Map<String, String> details) {
    /**
     * Validates and copies the values.
     *
     * @param backend the backend's name ({@code "llamacpp"})
     * @param model the model's name or path
     * @param contextLength the context window in tokens the model was opened with
     * @param capabilities what the model can do
     * @param details backend-specific facts (architecture, quantization, parameter count...)
     */
    public ModelInfo {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(model, "model");
        if (contextLength <= 0) {
            throw new IllegalArgumentException("contextLength must be > 0: " + contextLength);
        }
        capabilities = Set.copyOf(capabilities);
        details = Map.copyOf(details);
    }

    /**
     * @param capability what to ask about
     * @return whether the model has it
     */
    public boolean supports(Capability capability) {
        return capabilities.contains(capability);
    }
}
