package io.github.locallm.template;

import io.github.locallm.ToolSpec;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link ChatTemplate#render(List, RenderOptions)} passes to a template besides the messages.
 *
 * <p>These are the variables Hugging Face's {@code apply_chat_template} passes:
 * {@code add_generation_prompt}, {@code tools}, the special tokens such as {@code bos_token} and
 * {@code eos_token}, and any extra keyword variables (for example {@code date_string} or
 * {@code enable_thinking}).
 *
 * <pre>{@code
 * RenderOptions options = RenderOptions.builder()
 *         .addGenerationPrompt(true)
 *         .bosToken("<s>").eosToken("</s>")
 *         .tools(List.of(weatherTool))
 *         .variable("date_string", "26 Jul 2024")
 *         .build();
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe; the builder is not thread-safe.
 */
public final class RenderOptions {
    private static final RenderOptions DEFAULTS = builder().build();

    private final boolean addGenerationPrompt;
    private final List<ToolSpec> tools;
    private final String bosToken;
    private final String eosToken;
    private final Map<String, Object> variables;

    private RenderOptions(Builder b) {
        this.addGenerationPrompt = b.addGenerationPrompt;
        this.tools = List.copyOf(b.tools);
        this.bosToken = b.bosToken;
        this.eosToken = b.eosToken;
        this.variables = Collections.unmodifiableMap(new LinkedHashMap<>(b.variables));
    }

    /** @return options with no generation prompt, no tools, no special tokens and no extra variables */
    public static RenderOptions defaults() {
        return DEFAULTS;
    }

    /** @return a new builder with the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding these options */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.addGenerationPrompt = addGenerationPrompt;
        b.tools = tools;
        b.bosToken = bosToken;
        b.eosToken = eosToken;
        b.variables.putAll(variables);
        return b;
    }

    /** @return whether the template should end with the opening of an assistant turn */
    public boolean addGenerationPrompt() {
        return addGenerationPrompt;
    }

    /** @return the tools offered to the model; empty means the template sees {@code tools = None} */
    public List<ToolSpec> tools() {
        return tools;
    }

    /** @return the beginning-of-sequence token text, if the template should see {@code bos_token} */
    public Optional<String> bosToken() {
        return Optional.ofNullable(bosToken);
    }

    /** @return the end-of-sequence token text, if the template should see {@code eos_token} */
    public Optional<String> eosToken() {
        return Optional.ofNullable(eosToken);
    }

    /** @return extra template variables; they override the standard ones of the same name */
    public Map<String, Object> variables() {
        return variables;
    }

    /** Builds {@link RenderOptions}; not thread-safe. */
    public static final class Builder {
        private boolean addGenerationPrompt;
        private List<ToolSpec> tools = List.of();
        private String bosToken;
        private String eosToken;
        private final Map<String, Object> variables = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * @param value whether to open an assistant turn at the end
         * @return this builder
         */
        public Builder addGenerationPrompt(boolean value) {
            this.addGenerationPrompt = value;
            return this;
        }

        /**
         * @param value the tools offered to the model
         * @return this builder
         */
        public Builder tools(List<ToolSpec> value) {
            this.tools = List.copyOf(Objects.requireNonNull(value, "tools"));
            return this;
        }

        /**
         * @param value the {@code bos_token} text, or {@code null} to leave it undefined
         * @return this builder
         */
        public Builder bosToken(String value) {
            this.bosToken = value;
            return this;
        }

        /**
         * @param value the {@code eos_token} text, or {@code null} to leave it undefined
         * @return this builder
         */
        public Builder eosToken(String value) {
            this.eosToken = value;
            return this;
        }

        /**
         * Adds an extra template variable.
         *
         * @param name the variable name, a Python identifier
         * @param value a String, Number, Boolean, {@code null}, List or Map of those
         * @return this builder
         */
        public Builder variable(String name, Object value) {
            Objects.requireNonNull(name, "name");
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new IllegalArgumentException("template variable name must be an identifier: " + name);
            }
            variables.put(name, value);
            return this;
        }

        /**
         * @param values extra template variables
         * @return this builder
         */
        public Builder variables(Map<String, ?> values) {
            Objects.requireNonNull(values, "values").forEach(this::variable);
            return this;
        }

        /** @return the options */
        public RenderOptions build() {
            return new RenderOptions(this);
        }
    }
}
