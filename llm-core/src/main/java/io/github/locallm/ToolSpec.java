package io.github.locallm;

import java.util.Objects;

/**
 * A tool (function) the model may call.
 *
 * @param name the function name
 * @param description what the function does, for the model
 * @param parametersSchema a JSON schema of the arguments object, in text form
 */
public record ToolSpec(String name, String description, String parametersSchema) {
    /**
     * Validates the values.
     *
     * @param name the function name
     * @param description what the function does, for the model
     * @param parametersSchema a JSON schema of the arguments object, in text form
     */
    public ToolSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(parametersSchema, "parametersSchema");
        if (name.isBlank()) {
            throw new IllegalArgumentException("tool name must not be blank");
        }
        if (!parametersSchema.strip().startsWith("{")) {
            throw new IllegalArgumentException(
                    "tool parametersSchema must be a JSON object: " + parametersSchema);
        }
    }
}
