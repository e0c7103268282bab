package io.github.locallm.spi;

import io.github.locallm.ModelSpec;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeSet;

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
     * @param key a setting
     * @param min the smallest accepted value
     * @return the value as an integer, if given
     * @throws IllegalArgumentException when it is not an integer or is below {@code min}
     */
    public OptionalInt integer(String key, int min) {
        String v = parameters.get(key);
        if (v == null) {
            return OptionalInt.empty();
        }
        int n;
        try {
            n = Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be an integer: '" + v + "' (model " + spec + ")", e);
        }
        if (n < min) {
            throw new IllegalArgumentException(key + " must be >= " + min + ": " + n + " (model " + spec + ")");
        }
        return OptionalInt.of(n);
    }

    /**
     * @param key a setting
     * @return the value as a boolean ({@code true/false/1/0/yes/no/on/off}), if given
     * @throws IllegalArgumentException when it is not a boolean
     */
    public Optional<Boolean> bool(String key) {
        String v = parameters.get(key);
        if (v == null) {
            return Optional.empty();
        }
        switch (v.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes", "on":
                return Optional.of(Boolean.TRUE);
            case "false", "0", "no", "off":
                return Optional.of(Boolean.FALSE);
            default:
                throw new IllegalArgumentException(key + " must be true or false: '" + v + "' (model " + spec + ")");
        }
    }

    /**
     * Rejects settings this backend does not know.
     *
     * @param known the keys the backend accepts
     * @throws IllegalArgumentException naming the unknown keys and the known ones
     */
    public void requireKnown(Collection<String> known) {
        TreeSet<String> unknown = new TreeSet<>(parameters.keySet());
        unknown.removeAll(known);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown setting" + (unknown.size() > 1 ? "s " : " ") + unknown
                    + " for " + spec.scheme() + " model " + spec + "; known: " + new TreeSet<>(known));
        }
    }
}
