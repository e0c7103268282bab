package io.github.locallm;

import java.util.Objects;

/**
 * A call of a tool that the model asked for.
 *
 * @param id identifier the backend gave the call, or an empty string
 * @param name the tool's name
 * @param argumentsJson the arguments as a JSON object, in text form
 */
public record ToolCall(String id, String name, String argumentsJson) {
    /**
     * Validates the values.
     *
     * @param id identifier the backend gave the call, or an empty string
     * @param name the tool's name
     * @param argumentsJson the arguments as a JSON object, in text form
     */
    public ToolCall {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(argumentsJson, "argumentsJson");
    }
}
