package io.github.locallm.internal;

import io.github.locallm.spi.LlmBackend;
import io.github.locallm.spi.LlmProvider;
import io.github.locallm.spi.OpenRequest;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Providers that only describe themselves, for discovery tests; none of them opens anything. */
public final class TestProviders {
    private TestProviders() {
    }

    /** Base of the describing providers. */
    abstract static class Describing implements LlmProvider {
        private final String name;
        private final Set<String> schemes;
        private final int priority;

        Describing(String name, int priority, String... schemes) {
            this.name = name;
            this.schemes = new LinkedHashSet<>(List.of(schemes));
            this.priority = priority;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Set<String> schemes() {
            return schemes;
        }

        @Override
        public int priority() {
            return priority;
        }

        @Override
        public LlmBackend open(OpenRequest request) {
            throw new UnsupportedOperationException("describing provider " + name + " opens nothing");
        }
    }

    /** Looks like the llama.cpp backend. */
    public static final class LlamaLike extends Describing {
        /** Creates it. */
        public LlamaLike() {
            super("llamacpp", 0, "gguf", "llamacpp");
        }

        @Override
        public boolean accepts(Path path) {
            return path.toString().endsWith(".gguf");
        }
    }

    /** Ties with {@link BetaShared} on scheme {@code shared}. */
    public static final class AlphaShared extends Describing {
        /** Creates it. */
        public AlphaShared() {
            super("alpha", 0, "alpha", "shared");
        }

        @Override
        public java.util.Optional<String> artifact() {
            return java.util.Optional.of("com.example:alpha");
        }
    }

    /** Ties with {@link AlphaShared} on scheme {@code shared}. */
    public static final class BetaShared extends Describing {
        /** Creates it. */
        public BetaShared() {
            super("beta", 0, "beta", "shared");
        }
    }

    /** Wins scheme {@code ranked} by priority. */
    public static final class HighRank extends Describing {
        /** Creates it. */
        public HighRank() {
            super("high", 5, "ranked");
        }

        @Override
        public boolean accepts(Path path) {
            return path.toString().endsWith(".bin");
        }
    }

    /** Loses scheme {@code ranked} by priority. */
    public static final class LowRank extends Describing {
        /** Creates it. */
        public LowRank() {
            super("low", 1, "ranked");
        }

        @Override
        public boolean accepts(Path path) {
            return path.toString().endsWith(".bin");
        }
    }

    /** Fails in its constructor, as a provider whose native library is missing might. */
    public static final class Exploding implements LlmProvider {
        /** Always throws. */
        public Exploding() {
            throw new IllegalStateException("native library libnothing.so is missing");
        }

        @Override
        public String name() {
            return "exploding";
        }

        @Override
        public Set<String> schemes() {
            return Set.of("boom");
        }

        @Override
        public LlmBackend open(OpenRequest request) {
            throw new UnsupportedOperationException();
        }
    }

    /** Throws from {@link #schemes()}. */
    public static final class BadSchemes extends Describing {
        /** Creates it. */
        public BadSchemes() {
            super("bad", 0, "bad");
        }

        @Override
        public Set<String> schemes() {
            throw new IllegalStateException("schemes unavailable");
        }
    }
}
