package io.github.locallm;

import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * An installed backend as discovery found it, for diagnostics ({@link LocalLlm#providers()}).
 *
 * @param name the backend's name, or the class name for a provider that failed to load
 * @param schemes the spec schemes it accepts; empty for a broken provider
 * @param priority its rank among providers of the same scheme
 * @param error why the provider could not be loaded, or {@code null}
 */
public record ProviderInfo(String name, Set<String> schemes, int priority, String error) {
    /**
     * Validates and copies the values.
     *
     * @param name the backend's name, or the class name for a provider that failed to load
     * @param schemes the spec schemes it accepts; empty for a broken provider
     * @param priority its rank among providers of the same scheme
     * @param error why the provider could not be loaded, or {@code null}
     */
    public ProviderInfo {
        Objects.requireNonNull(name, "name");
        schemes = Set.copyOf(schemes);
    }

    /** @return why the provider could not be loaded, if it could not */
    public Optional<String> loadError() {
        return Optional.ofNullable(error);
    }
}
