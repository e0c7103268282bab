package io.github.locallm.spi;

import io.github.locallm.LlmException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * A backend's entry point, found with {@link java.util.ServiceLoader}.
 *
 * <p>A backend jar declares its provider in
 * {@code META-INF/services/io.github.locallm.spi.LlmProvider} (and with {@code provides} in its module
 * descriptor, if it has one). {@link #name()}, {@link #schemes()}, {@link #priority()} and
 * {@link #accepts(Path)} must be cheap: no I/O beyond looking at a path, no native code loaded. Only
 * {@link #open(OpenRequest)} does real work.
 *
 * <p>Implementations must be thread-safe and have a public no-argument constructor.
 */
public interface LlmProvider {

    /** @return the backend's name, such as {@code "llamacpp"}; lower case, unique among providers */
    String name();

    /** @return the spec schemes this backend accepts, such as {@code ["llamacpp", "gguf"]} */
    Set<String> schemes();

    /**
     * Names the artifact that holds this provider, for messages that tell a user what to add or remove (for
     * example when two installed backends tie for a scheme).
     *
     * <p>For a scheme whose provider is not installed nobody can ask the provider, so core keeps a catalogue of
     * the project's own backends for that hint; each of those backends has a test that checks its provider
     * against the catalogue, so the hint cannot drift from the provider. A third-party provider just
     * returns its own coordinates.
     *
     * @return Maven coordinates {@code groupId:artifactId}, such as {@code "io.github.locallm:llm-ollama"};
     *     empty by default
     */
    default Optional<String> artifact() {
        return Optional.empty();
    }

    /** @return the rank among providers that accept the same scheme; higher wins; default 0 */
    default int priority() {
        return 0;
    }

    /**
     * Tells whether this backend can open a local path, for {@code LocalLlm.open(Path)}.
     *
     * @param path an existing file or directory
     * @return true when the path looks like a model of this backend ({@code .gguf} file, checkpoint directory)
     */
    default boolean accepts(Path path) {
        return false;
    }

    /**
     * Opens a model.
     *
     * @param request the parsed spec and merged settings
     * @return the open backend, owned by the caller
     * @throws IllegalArgumentException for an unknown or invalid setting
     * @throws LlmException when the model cannot be found or loaded
     */
    LlmBackend open(OpenRequest request);
}
