package io.github.locallm.internal;

import io.github.locallm.spi.LlmProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The backends this project ships, for the "add this artifact" hint of a scheme whose provider is not
 * installed.
 *
 * <p>An installed provider names its own artifact ({@link LlmProvider#artifact()}); a provider that is not
 * installed cannot be asked, so core keeps this small catalogue of the project's own backends. It cannot go
 * stale unnoticed: each backend module has a test that calls {@link #mismatches(LlmProvider)} with its
 * provider, which fails when the provider's name, schemes or artifact differ from its entry here (a
 * scheme added or dropped, an artifact renamed). Third-party backends are not listed; an unknown scheme gets
 * the list of the project's artifacts and a pointer to third-party backends.
 *
 * <p>Immutable and thread-safe.
 */
public final class KnownBackends {
    /** The group of the project's artifacts. */
    public static final String GROUP = "io.github.locallm";

    /**
     * One backend of the project.
     *
     * @param name the provider's name
     * @param artifact its Maven coordinates, {@code groupId:artifactId}
     * @param schemes the schemes it accepts
     * @param paths what local paths it opens, for messages; empty when it opens none
     */
    public record Backend(String name, String artifact, Set<String> schemes, String paths) {
    }

    private static final List<Backend> ALL = List.of(
            new Backend("ollama", GROUP + ":llm-ollama", Set.of("ollama"), ""),
            new Backend("llamacpp", GROUP + ":llm-llamacpp", Set.of("llamacpp", "gguf"), "a .gguf file"),
            new Backend("djl", GROUP + ":llm-djl", Set.of("djl"), "a checkpoint directory with config.json"),
            new Backend("openai", GROUP + ":llm-openai", Set.of("openai"), ""));

    private KnownBackends() {
    }

    /** @return the project's backends, in a fixed order */
    public static List<Backend> all() {
        return ALL;
    }

    /**
     * @param name a backend name, in any case
     * @return its entry, if the project ships it
     */
    public static Optional<Backend> byName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return ALL.stream().filter(b -> b.name().equals(n)).findFirst();
    }

    /**
     * @param scheme a spec scheme, in lower case
     * @return the project's backend that accepts it, if any
     */
    public static Optional<Backend> byScheme(String scheme) {
        return ALL.stream().filter(b -> b.schemes().contains(scheme)).findFirst();
    }

    /**
     * Compares a provider of the project with its entry; each backend module's tests call this.
     *
     * @param provider a provider of one of the project's backends
     * @return what differs, empty when the entry is right
     */
    public static List<String> mismatches(LlmProvider provider) {
        List<String> out = new ArrayList<>();
        Optional<Backend> entry = byName(provider.name());
        if (entry.isEmpty()) {
            out.add("no entry named '" + provider.name() + "'; add one to " + KnownBackends.class.getName());
            return out;
        }
        Backend b = entry.get();
        Set<String> schemes = provider.schemes().stream().map(s -> s.toLowerCase(Locale.ROOT))
                .collect(Collectors.toSet());
        if (!schemes.equals(b.schemes())) {
            out.add("schemes: the provider has " + schemes + ", the entry " + b.schemes());
        }
        if (!provider.artifact().equals(Optional.of(b.artifact()))) {
            out.add("artifact: the provider names " + provider.artifact() + ", the entry " + b.artifact());
        }
        return out;
    }
}
