package io.github.locallm;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How to open a model: an explicit backend choice and settings for loading it.
 *
 * <p>Settings are key/value pairs, the same keys a spec's query string takes
 * ({@code llamacpp:/m.gguf?ctx=4096}); a value given here wins over the same key in the spec. The
 * typed setters are shortcuts for keys every backend understands where they make sense:
 * {@value #CONTEXT_LENGTH}, {@value #THREADS}, {@value #GPU_LAYERS}. A backend rejects keys it does
 * not know with an {@link IllegalArgumentException} that lists the ones it does.
 *
 * <pre>{@code
 * OpenOptions opts = OpenOptions.builder().contextLength(8192).gpuLayers(99).build();
 * try (LocalLlm llm = LocalLlm.open("llamacpp:/models/mistral.gguf", opts)) { ... }
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class OpenOptions {
    /** Key of the context window size in tokens. */
    public static final String CONTEXT_LENGTH = "ctx";
    /** Key of the number of CPU threads. */
    public static final String THREADS = "threads";
    /** Key of the number of layers offloaded to a GPU. */
    public static final String GPU_LAYERS = "gpu_layers";

    private static final OpenOptions DEFAULTS = new Builder().build();

    private final String backend;
    private final Map<String, String> parameters;

    private OpenOptions(Builder b) {
        this.backend = b.backend;
        this.parameters = Collections.unmodifiableMap(new LinkedHashMap<>(b.parameters));
    }

    /** @return options with nothing set */
    public static OpenOptions defaults() {
        return DEFAULTS;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding these options */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.backend = backend;
        b.parameters.putAll(parameters);
        return b;
    }

    /** @return the backend explicitly asked for, by name */
    public Optional<String> backend() {
        return Optional.ofNullable(backend);
    }

    /** @return the settings in the order they were given */
    public Map<String, String> parameters() {
        return parameters;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OpenOptions x && Objects.equals(x.backend, backend) && x.parameters.equals(parameters);
    }

    @Override
    public int hashCode() {
        return Objects.hash(backend, parameters);
    }

    @Override
    public String toString() {
        return "OpenOptions{backend=" + backend + ", parameters=" + parameters + "}";
    }

    /** Builds {@link OpenOptions}; not thread-safe. */
    public static final class Builder {
        /** Most parameters accepted. */
        public static final int MAX_PARAMETERS = 64;
        /** Longest parameter key, in chars. */
        public static final int MAX_KEY_LENGTH = 128;
        /** Longest parameter value, in chars. */
        public static final int MAX_VALUE_LENGTH = 64 * 1024;

        private String backend;
        private final Map<String, String> parameters = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * @param name the backend to use when several accept the spec
         * @return this builder
         */
        public Builder backend(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isBlank()) {
                throw new IllegalArgumentException("backend name must not be blank");
            }
            this.backend = name;
            return this;
        }

        /**
         * @param tokens context window in tokens, at least 1
         * @return this builder
         */
        public Builder contextLength(int tokens) {
            if (tokens < 1) {
                throw new IllegalArgumentException("contextLength must be >= 1: " + tokens);
            }
            return parameter(CONTEXT_LENGTH, Integer.toString(tokens));
        }

        /**
         * @param n CPU threads, at least 1
         * @return this builder
         */
        public Builder threads(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("threads must be >= 1: " + n);
            }
            return parameter(THREADS, Integer.toString(n));
        }

        /**
         * @param n layers to offload to a GPU, at least 0
         * @return this builder
         */
        public Builder gpuLayers(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("gpuLayers must be >= 0: " + n);
            }
            return parameter(GPU_LAYERS, Integer.toString(n));
        }

        /**
         * @param key a setting the backend knows
         * @param value its value in text form
         * @return this builder
         */
        public Builder parameter(String key, String value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
            if (key.isBlank()) {
                throw new IllegalArgumentException("parameter key must not be blank");
            }
            if (key.length() > MAX_KEY_LENGTH) {
                throw new IllegalArgumentException("parameter key must be at most " + MAX_KEY_LENGTH + " chars: "
                        + key.length());
            }
            for (int i = 0; i < key.length(); i++) {
                char c = key.charAt(i);
                if (c <= ' ' || c == 0x7f || c == '=' || c == '&') {
                    throw new IllegalArgumentException("parameter key must not contain spaces, control chars, '='"
                            + " or '&': '" + key.replaceAll("\\p{Cntrl}", "?") + "'");
                }
            }
            if (value.length() > MAX_VALUE_LENGTH) {
                throw new IllegalArgumentException("parameter " + key + " must be at most " + MAX_VALUE_LENGTH
                        + " chars: " + value.length());
            }
            if (value.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("parameter " + key + " must not contain NUL chars");
            }
            if (!parameters.containsKey(key) && parameters.size() >= MAX_PARAMETERS) {
                throw new IllegalArgumentException("at most " + MAX_PARAMETERS + " parameters");
            }
            parameters.put(key, value);
            return this;
        }

        /** @return the options */
        public OpenOptions build() {
            return new OpenOptions(this);
        }
    }
}
