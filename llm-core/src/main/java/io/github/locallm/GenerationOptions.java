package io.github.locallm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * How to generate: sampling settings, limits, stop sequences and output format.
 *
 * <p>Every field is optional. An unset field is not the same as a default: the backend applies its
 * own default where the caller said nothing. Setters of the {@link Builder} validate at once and
 * name the bad value.
 *
 * <pre>{@code
 * GenerationOptions opts = GenerationOptions.builder()
 *         .maxTokens(128)
 *         .temperature(0.0)
 *         .stop("\n\n")
 *         .build();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class GenerationOptions {
    private static final GenerationOptions DEFAULTS = new Builder().build();

    private final Integer maxTokens;
    private final Double temperature;
    private final Double topP;
    private final Integer topK;
    private final Double minP;
    private final Double repeatPenalty;
    private final Long seed;
    private final List<String> stop;
    private final ResponseFormat responseFormat;
    private final Boolean think;
    private final ThinkLevel thinkLevel;
    private final Boolean logprobs;
    private final Integer topLogprobs;
    private final List<ToolSpec> tools;
    private final ToolChoice toolChoice;
    private final String suffix;
    private final Map<String, String> backendOptions;

    private GenerationOptions(Builder b) {
        this.maxTokens = b.maxTokens;
        this.temperature = b.temperature;
        this.topP = b.topP;
        this.topK = b.topK;
        this.minP = b.minP;
        this.repeatPenalty = b.repeatPenalty;
        this.seed = b.seed;
        this.stop = List.copyOf(b.stop);
        this.responseFormat = b.responseFormat;
        this.think = b.think;
        this.thinkLevel = b.thinkLevel;
        this.logprobs = b.logprobs;
        this.topLogprobs = b.topLogprobs;
        this.tools = List.copyOf(b.tools);
        this.toolChoice = b.toolChoice;
        this.suffix = b.suffix;
        this.backendOptions = Collections.unmodifiableMap(new LinkedHashMap<>(b.backendOptions));
    }

    /** @return options with nothing set: every backend default applies */
    public static GenerationOptions defaults() {
        return DEFAULTS;
    }

    /** @return a new builder with nothing set */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding these options */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxTokens = maxTokens;
        b.temperature = temperature;
        b.topP = topP;
        b.topK = topK;
        b.minP = minP;
        b.repeatPenalty = repeatPenalty;
        b.seed = seed;
        b.stop.addAll(stop);
        b.responseFormat = responseFormat;
        b.think = think;
        b.thinkLevel = thinkLevel;
        b.logprobs = logprobs;
        b.topLogprobs = topLogprobs;
        b.tools.addAll(tools);
        b.toolChoice = toolChoice;
        b.suffix = suffix;
        b.backendOptions.putAll(backendOptions);
        return b;
    }

    /** @return the most tokens to generate */
    public OptionalInt maxTokens() {
        return maxTokens == null ? OptionalInt.empty() : OptionalInt.of(maxTokens);
    }

    /** @return the sampling temperature; 0 means greedy */
    public OptionalDouble temperature() {
        return temperature == null ? OptionalDouble.empty() : OptionalDouble.of(temperature);
    }

    /** @return nucleus sampling probability mass */
    public OptionalDouble topP() {
        return topP == null ? OptionalDouble.empty() : OptionalDouble.of(topP);
    }

    /** @return how many most likely tokens to sample from */
    public OptionalInt topK() {
        return topK == null ? OptionalInt.empty() : OptionalInt.of(topK);
    }

    /** @return minimum probability relative to the most likely token */
    public OptionalDouble minP() {
        return minP == null ? OptionalDouble.empty() : OptionalDouble.of(minP);
    }

    /** @return penalty for repeating tokens; 1 means none */
    public OptionalDouble repeatPenalty() {
        return repeatPenalty == null ? OptionalDouble.empty() : OptionalDouble.of(repeatPenalty);
    }

    /** @return the random seed for reproducible sampling */
    public OptionalLong seed() {
        return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
    }

    /** @return stop sequences; generation ends before the first one, which is not part of the text */
    public List<String> stop() {
        return stop;
    }

    /** @return the output format, empty for the backend's default (free text) */
    public Optional<ResponseFormat> responseFormat() {
        return Optional.ofNullable(responseFormat);
    }

    /** @return whether a reasoning model should think (its thinking is kept apart from the answer) */
    public Optional<Boolean> think() {
        return Optional.ofNullable(think);
    }

    /**
     * @return how much a reasoning model should think, for models that take a level; when set,
     *         {@link #think()} is true
     */
    public Optional<ThinkLevel> thinkLevel() {
        return Optional.ofNullable(thinkLevel);
    }

    /**
     * @return whether to report the log probability of each generated token
     *         ({@link Completion#logprobs()}, {@link StreamHandler#onLogprobs}); true when
     *         {@link #topLogprobs()} is set
     */
    public Optional<Boolean> logprobs() {
        return Optional.ofNullable(logprobs);
    }

    /** @return how many most likely alternatives to report at each position, with the log probabilities */
    public OptionalInt topLogprobs() {
        return topLogprobs == null ? OptionalInt.empty() : OptionalInt.of(topLogprobs);
    }

    /** @return tools the model may call */
    public List<ToolSpec> tools() {
        return tools;
    }

    /**
     * @return whether the model may, must or must not call one of the {@link #tools()}; empty for the model's own
     *         choice ({@link ToolChoice#AUTO})
     */
    public Optional<ToolChoice> toolChoice() {
        return Optional.ofNullable(toolChoice);
    }

    /**
     * @return the text after the insertion point for a fill-in-the-middle completion (the prompt is the text
     *         before it); empty for an ordinary completion
     */
    public Optional<String> suffix() {
        return Optional.ofNullable(suffix);
    }

    /** @return backend-specific options, keys of the form {@code backend.key} */
    public Map<String, String> backendOptions() {
        return backendOptions;
    }

    /**
     * @param backend a backend name such as {@code "ollama"}
     * @return the backend-specific options of that backend, keys without the prefix
     */
    public Map<String, String> backendOptions(String backend) {
        Objects.requireNonNull(backend, "backend");
        String prefix = backend + ".";
        Map<String, String> out = new LinkedHashMap<>();
        backendOptions.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return Collections.unmodifiableMap(out);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GenerationOptions g)) {
            return false;
        }
        return Objects.equals(maxTokens, g.maxTokens) && Objects.equals(temperature, g.temperature)
                && Objects.equals(topP, g.topP) && Objects.equals(topK, g.topK) && Objects.equals(minP, g.minP)
                && Objects.equals(repeatPenalty, g.repeatPenalty) && Objects.equals(seed, g.seed)
                && stop.equals(g.stop) && Objects.equals(responseFormat, g.responseFormat)
                && Objects.equals(think, g.think) && thinkLevel == g.thinkLevel
                && Objects.equals(logprobs, g.logprobs) && Objects.equals(topLogprobs, g.topLogprobs)
                && tools.equals(g.tools) && Objects.equals(toolChoice, g.toolChoice)
                && Objects.equals(suffix, g.suffix) && backendOptions.equals(g.backendOptions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxTokens, temperature, topP, topK, minP, repeatPenalty, seed, stop, responseFormat,
                think, thinkLevel, logprobs, topLogprobs, tools, toolChoice, suffix, backendOptions);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("GenerationOptions{");
        appendIf(sb, "maxTokens", maxTokens);
        appendIf(sb, "temperature", temperature);
        appendIf(sb, "topP", topP);
        appendIf(sb, "topK", topK);
        appendIf(sb, "minP", minP);
        appendIf(sb, "repeatPenalty", repeatPenalty);
        appendIf(sb, "seed", seed);
        appendIf(sb, "stop", stop.isEmpty() ? null : stop);
        appendIf(sb, "responseFormat", responseFormat);
        appendIf(sb, "think", think);
        appendIf(sb, "thinkLevel", thinkLevel);
        appendIf(sb, "logprobs", logprobs);
        appendIf(sb, "topLogprobs", topLogprobs);
        appendIf(sb, "tools", tools.isEmpty() ? null : tools.size());
        appendIf(sb, "toolChoice", toolChoice);
        appendIf(sb, "suffix", suffix == null ? null : suffix.length() + " chars");
        appendIf(sb, "backendOptions", backendOptions.isEmpty() ? null : backendOptions);
        if (sb.charAt(sb.length() - 1) == ' ') {
            sb.setLength(sb.length() - 2);
        }
        return sb.append('}').toString();
    }

    private static void appendIf(StringBuilder sb, String name, Object value) {
        if (value != null) {
            sb.append(name).append('=').append(value).append(", ");
        }
    }

    /**
     * Builds {@link GenerationOptions}; every setter validates its argument at once.
     *
     * <p>A builder is not thread-safe.
     */
    public static final class Builder {
        /** Most stop sequences accepted. */
        public static final int MAX_STOP_SEQUENCES = 16;
        /** Longest stop sequence accepted, in chars. */
        public static final int MAX_STOP_LENGTH = 1024;
        /** Most alternatives per position for {@link #topLogprobs(int)}. */
        public static final int MAX_TOP_LOGPROBS = 20;
        /** Most backend options accepted. */
        public static final int MAX_BACKEND_OPTIONS = 64;
        /** Longest backend option key ({@code backend.key}), in chars. */
        public static final int MAX_BACKEND_OPTION_KEY = 128;
        /** Longest backend option value, in chars (a system prompt may go there). */
        public static final int MAX_BACKEND_OPTION_VALUE = 1 << 20;

        private Integer maxTokens;
        private Double temperature;
        private Double topP;
        private Integer topK;
        private Double minP;
        private Double repeatPenalty;
        private Long seed;
        private final List<String> stop = new ArrayList<>();
        private ResponseFormat responseFormat;
        private Boolean think;
        private ThinkLevel thinkLevel;
        private Boolean logprobs;
        private Integer topLogprobs;
        private final List<ToolSpec> tools = new ArrayList<>();
        private ToolChoice toolChoice;
        private String suffix;
        private final Map<String, String> backendOptions = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * Asks for a fill-in-the-middle completion: the model writes what goes between the prompt (the code or
         * text before the insertion point) and this suffix (what follows it). Only completions take a suffix, and
         * only models with the {@link Capability#FILL_IN_MIDDLE} capability (trained with fill-in-the-middle
         * tokens); others refuse the request with an {@link UnsupportedCapabilityException}.
         *
         * @param suffix the text after the insertion point, possibly empty
         * @return this builder
         */
        public Builder suffix(String suffix) {
            this.suffix = Objects.requireNonNull(suffix, "suffix");
            return this;
        }

        /**
         * Makes this an ordinary completion again (no {@link #suffix(String) suffix}).
         *
         * @return this builder
         */
        public Builder clearSuffix() {
            this.suffix = null;
            return this;
        }

        /**
         * @param n most tokens to generate, at least 1
         * @return this builder
         */
        public Builder maxTokens(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxTokens must be >= 1: " + n);
            }
            this.maxTokens = n;
            return this;
        }

        /**
         * @param t temperature in [0, 2]; 0 is greedy
         * @return this builder
         */
        public Builder temperature(double t) {
            if (!(t >= 0 && t <= 2)) {
                throw new IllegalArgumentException("temperature must be in [0, 2]: " + t);
            }
            this.temperature = t;
            return this;
        }

        /**
         * @param p top-p in (0, 1]
         * @return this builder
         */
        public Builder topP(double p) {
            if (!(p > 0 && p <= 1)) {
                throw new IllegalArgumentException("topP must be in (0, 1]: " + p);
            }
            this.topP = p;
            return this;
        }

        /**
         * @param k top-k, at least 1
         * @return this builder
         */
        public Builder topK(int k) {
            if (k < 1) {
                throw new IllegalArgumentException("topK must be >= 1: " + k);
            }
            this.topK = k;
            return this;
        }

        /**
         * @param p min-p in [0, 1]
         * @return this builder
         */
        public Builder minP(double p) {
            if (!(p >= 0 && p <= 1)) {
                throw new IllegalArgumentException("minP must be in [0, 1]: " + p);
            }
            this.minP = p;
            return this;
        }

        /**
         * @param penalty repeat penalty in (0, 10]; 1 is none
         * @return this builder
         */
        public Builder repeatPenalty(double penalty) {
            if (!(penalty > 0 && penalty <= 10)) {
                throw new IllegalArgumentException("repeatPenalty must be in (0, 10]: " + penalty);
            }
            this.repeatPenalty = penalty;
            return this;
        }

        /**
         * @param seed random seed, at least 0
         * @return this builder
         */
        public Builder seed(long seed) {
            if (seed < 0) {
                throw new IllegalArgumentException("seed must be >= 0: " + seed);
            }
            this.seed = seed;
            return this;
        }

        /**
         * @param sequences stop sequences to add; each non-empty
         * @return this builder
         */
        public Builder stop(String... sequences) {
            return stop(List.of(sequences));
        }

        /**
         * @param sequences stop sequences to add; each non-empty
         * @return this builder
         */
        public Builder stop(List<String> sequences) {
            Objects.requireNonNull(sequences, "sequences");
            for (String s : sequences) {
                Objects.requireNonNull(s, "stop sequence");
                if (s.isEmpty()) {
                    throw new IllegalArgumentException("stop sequence must not be empty");
                }
                if (s.length() > MAX_STOP_LENGTH) {
                    throw new IllegalArgumentException("stop sequence must be at most " + MAX_STOP_LENGTH
                            + " chars: " + s.length());
                }
            }
            if (stop.size() + sequences.size() > MAX_STOP_SEQUENCES) {
                throw new IllegalArgumentException("at most " + MAX_STOP_SEQUENCES + " stop sequences: "
                        + (stop.size() + sequences.size()));
            }
            stop.addAll(sequences);
            return this;
        }

        /** @return this builder with no stop sequences */
        public Builder clearStop() {
            stop.clear();
            return this;
        }

        /**
         * @param format the output format
         * @return this builder
         */
        public Builder responseFormat(ResponseFormat format) {
            this.responseFormat = Objects.requireNonNull(format, "format");
            return this;
        }

        /**
         * @param think whether a reasoning model should think
         * @return this builder
         */
        public Builder think(boolean think) {
            this.think = think;
            if (!think) {
                this.thinkLevel = null;
            }
            return this;
        }

        /**
         * Asks a reasoning model to think at a level (models that take only on/off just think).
         *
         * @param level how much to think
         * @return this builder
         */
        public Builder think(ThinkLevel level) {
            this.thinkLevel = Objects.requireNonNull(level, "level");
            this.think = true;
            return this;
        }

        /**
         * @param enabled whether to report the log probability of each generated token; false also clears
         *                {@link #topLogprobs(int)}
         * @return this builder
         */
        public Builder logprobs(boolean enabled) {
            this.logprobs = enabled;
            if (!enabled) {
                this.topLogprobs = null;
            }
            return this;
        }

        /**
         * Reports the log probabilities with the {@code n} most likely alternatives at each position; sets
         * {@link #logprobs(boolean)}.
         *
         * @param n alternatives per position, in [0, {@value #MAX_TOP_LOGPROBS}]
         * @return this builder
         */
        public Builder topLogprobs(int n) {
            if (n < 0 || n > MAX_TOP_LOGPROBS) {
                throw new IllegalArgumentException("topLogprobs must be in [0, " + MAX_TOP_LOGPROBS + "]: " + n);
            }
            this.topLogprobs = n;
            this.logprobs = true;
            return this;
        }

        /**
         * @param tool a tool the model may call
         * @return this builder
         */
        public Builder tool(ToolSpec tool) {
            Objects.requireNonNull(tool, "tool");
            for (ToolSpec t : tools) {
                if (t.name().equals(tool.name())) {
                    throw new IllegalArgumentException("duplicate tool name: " + tool.name());
                }
            }
            tools.add(tool);
            return this;
        }

        /** @return this builder with no tools (and no tool choice) */
        public Builder clearTools() {
            tools.clear();
            toolChoice = null;
            return this;
        }

        /**
         * Says whether the model may, must or must not call one of the tools; a required call applies to a
         * conversation that ends with the user's message (see {@link ToolChoice}).
         *
         * @param choice the tool choice
         * @return this builder
         */
        public Builder toolChoice(ToolChoice choice) {
            this.toolChoice = Objects.requireNonNull(choice, "choice");
            return this;
        }

        /**
         * Sets a backend-specific option.
         *
         * @param backend the backend name ({@code "ollama"}, {@code "llamacpp"}, {@code "djl"})
         * @param key the option name within that backend ({@code "keep_alive"})
         * @param value the value in text form
         * @return this builder
         */
        public Builder backendOption(String backend, String key, String value) {
            Objects.requireNonNull(backend, "backend");
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
            if (backend.isEmpty() || backend.contains(".") || key.isEmpty()) {
                throw new IllegalArgumentException(
                        "backend option needs a backend name without dots and a key: " + backend + "." + key);
            }
            String full = backend + "." + key;
            if (full.length() > MAX_BACKEND_OPTION_KEY) {
                throw new IllegalArgumentException("backend option key must be at most " + MAX_BACKEND_OPTION_KEY
                        + " chars: " + full.length());
            }
            for (int i = 0; i < full.length(); i++) {
                char c = full.charAt(i);
                if (c <= ' ' || c == 0x7f || c == '=' || c == '&') {
                    throw new IllegalArgumentException("backend option key must not contain spaces, control chars,"
                            + " '=' or '&': '" + full.replaceAll("\\p{Cntrl}", "?") + "'");
                }
            }
            if (value.length() > MAX_BACKEND_OPTION_VALUE) {
                throw new IllegalArgumentException("backend option " + full + " must be at most "
                        + MAX_BACKEND_OPTION_VALUE + " chars: " + value.length());
            }
            if (value.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("backend option " + full + " must not contain NUL chars");
            }
            if (!backendOptions.containsKey(full) && backendOptions.size() >= MAX_BACKEND_OPTIONS) {
                throw new IllegalArgumentException("at most " + MAX_BACKEND_OPTIONS + " backend options");
            }
            backendOptions.put(full, value);
            return this;
        }

        /** @return the options */
        public GenerationOptions build() {
            return new GenerationOptions(this);
        }
    }
}
