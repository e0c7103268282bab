package io.github.locallm.examples;

import io.github.locallm.LocalLlm;
import io.github.locallm.OpenOptions;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Which model a program opens and why: a spec or a path, with where it came from.
 *
 * @param spec the spec to open, or null when {@code path} is set
 * @param path the local file or directory to open, or null when {@code spec} is set
 * @param source how the model was chosen
 * @param backend the backend to open {@code path} with, or null to let the SDK detect it
 */
record ModelChoice(String spec, Path path, Source source, String backend) {

    /** How the model was chosen. */
    enum Source {
        /** Given with {@code --model}. */
        EXPLICIT("given with --model"),
        /** The first model of the Ollama server on this machine. */
        OLLAMA("found on the local Ollama server"),
        /** The first {@code .gguf} file in {@code ./models}. */
        MODELS_DIR("found in ./models"),
        /** The tiny demo model shipped with the examples. */
        DEMO("embedded tiny demo model");

        private final String label;

        Source(String label) {
            this.label = label;
        }

        /** @return how to say it to a person */
        String label() {
            return label;
        }

        /** @return whether this is the model that ships inside the examples */
        boolean embedded() {
            return this == DEMO;
        }
    }

    ModelChoice {
        if ((spec == null) == (path == null)) {
            throw new IllegalArgumentException("exactly one of spec and path must be set");
        }
        Objects.requireNonNull(source, "source");
    }

    /** @return a choice of a spec */
    static ModelChoice ofSpec(String spec, Source source) {
        return new ModelChoice(spec, null, source, null);
    }

    /** @return a choice of a local path, with an optional backend */
    static ModelChoice ofPath(Path path, Source source, String backend) {
        return new ModelChoice(null, path.toAbsolutePath().normalize(), source, backend);
    }

    /** Opens the chosen model. */
    LocalLlm open() {
        if (spec != null) {
            return LocalLlm.open(spec);
        }
        OpenOptions options = backend == null ? OpenOptions.defaults() : OpenOptions.builder().backend(backend).build();
        return LocalLlm.open(path, options);
    }

    /** @return the spec or path, as a person would pass it to {@code --model} */
    String display() {
        if (spec != null) {
            return spec;
        }
        return backend == null ? path.toString() : backend + ":" + path;
    }

    @Override
    public String toString() {
        return display() + " (" + source.label() + ")";
    }
}
