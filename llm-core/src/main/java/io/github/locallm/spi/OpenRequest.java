package io.github.locallm.spi;

import io.github.locallm.ModelSpec;
import io.github.locallm.OpenOptions;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a provider is asked to open: the parsed spec and the settings, the spec's query merged with
 * {@link io.github.locallm.OpenOptions} (which win).
 *
 * @param spec the parsed spec
 * @param parameters merged settings
 */
public record OpenRequest(ModelSpec spec, Map<String, String> parameters) {

    /**
     * Validates and copies the values.
     *
     * @param spec the parsed spec
     * @param parameters merged settings
     */
    public OpenRequest {
        Objects.requireNonNull(spec, "spec");
        parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    /**
     * @param key a setting
     * @return its value, if given
     */
    public Optional<String> string(String key) {
        return Optional.ofNullable(parameters.get(key));
    }

    /**
     * @return the settings as typed values ({@code ctx=2048} as an integer, {@code mmap=false} as a boolean, ...),
     *     with messages that name the model
     */
    public OptionValues values() {
        return new OptionValues("setting", spec.scheme() + " model " + spec, parameters);
    }

    /**
     * @param key a setting
     * @param min the smallest accepted value
     * @return the value as an integer, if given
     * @throws IllegalArgumentException when it is not an integer or is below {@code min}
     */
    public OptionalInt integer(String key, int min) {
        return values().integer(key, min, Integer.MAX_VALUE);
    }

    /**
     * @param key a setting
     * @return the value as a boolean ({@code true/false/1/0/yes/no/on/off}), if given
     * @throws IllegalArgumentException when it is not a boolean
     */
    public Optional<Boolean> bool(String key) {
        return values().bool(key);
    }

    /**
     * Rejects settings this backend does not know.
     *
     * @param known the keys the backend accepts
     * @throws IllegalArgumentException naming the unknown keys and the known ones
     */
    public void requireKnown(Collection<String> known) {
        values().requireKnown(known);
    }

    /**
     * Returns the context window to open: the {@code ctx} setting when given (at least 16 and at most
     * {@code modelLimit}), else the model's limit capped at {@link OptionValues#DEFAULT_CONTEXT_CAP}.
     *
     * @param modelLimit the most positions the model supports, or 0 when unknown
     * @return the context length in tokens
     * @throws IllegalArgumentException when {@code ctx} is not an integer in range
     */
    public int contextLength(int modelLimit) {
        int max = modelLimit > 0 ? modelLimit : Integer.MAX_VALUE;
        OptionalInt asked = values().integer(OpenOptions.CONTEXT_LENGTH, 16, max);
        if (asked.isPresent()) {
            return asked.getAsInt();
        }
        return modelLimit > 0 ? Math.min(modelLimit, OptionValues.DEFAULT_CONTEXT_CAP) : OptionValues.DEFAULT_CONTEXT_CAP;
    }
}
