package io.github.locallm.ollama;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link OllamaClient#create} makes a model of: a base model ({@code from}) or uploaded files (GGUF or
 * safetensors blobs by name), plus a system prompt, a prompt template, a license and parameters; the fields of
 * Ollama's {@code /api/create}.
 *
 * <pre>{@code
 * ModelDefinition d = ModelDefinition.builder()
 *         .from("llama3.2")
 *         .system("You are a terse assistant.")
 *         .parameter("temperature", 0.2)
 *         .parameter("num_ctx", 8192)
 *         .parameter("stop", List.of("<|eot_id|>"))
 *         .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class ModelDefinition {
    /** Most files and parameters. */
    static final int MAX_ENTRIES = 64;
    /** Longest system prompt, template or license, in chars. */
    static final int MAX_TEXT = 1 << 20;

    private final String from;
    private final Map<String, String> files;
    private final String system;
    private final String template;
    private final String license;
    private final Map<String, Object> parameters;
    private final String quantize;

    private ModelDefinition(Builder b) {
        this.from = b.from;
        this.files = Collections.unmodifiableMap(new LinkedHashMap<>(b.files));
        this.system = b.system;
        this.template = b.template;
        this.license = b.license;
        this.parameters = Collections.unmodifiableMap(new LinkedHashMap<>(b.parameters));
        this.quantize = b.quantize;
    }

    /** @return a builder with nothing set */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding this definition */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.from = from;
        b.files.putAll(files);
        b.system = system;
        b.template = template;
        b.license = license;
        b.parameters.putAll(parameters);
        b.quantize = quantize;
        return b;
    }

    /** @return the base model, if any */
    public Optional<String> from() {
        return Optional.ofNullable(from);
    }

    /** @return uploaded files by file name, each a blob digest */
    public Map<String, String> files() {
        return files;
    }

    /** @return the system prompt, if any */
    public Optional<String> system() {
        return Optional.ofNullable(system);
    }

    /** @return the parameters (numbers, booleans, texts or lists of texts) */
    public Map<String, Object> parameters() {
        return parameters;
    }

    ObjectNode toJson(String model) {
        ObjectNode body = OllamaHttp.JSON.createObjectNode();
        body.put("model", model);
        if (from != null) {
            body.put("from", from);
        }
        if (!files.isEmpty()) {
            ObjectNode f = body.putObject("files");
            files.forEach(f::put);
        }
        if (system != null) {
            body.put("system", system);
        }
        if (template != null) {
            body.put("template", template);
        }
        if (license != null) {
            body.put("license", license);
        }
        if (!parameters.isEmpty()) {
            ObjectNode p = body.putObject("parameters");
            parameters.forEach((k, v) -> p.set(k, OllamaHttp.JSON.valueToTree(v)));
        }
        if (quantize != null) {
            body.put("quantize", quantize);
        }
        return body;
    }

    @Override
    public String toString() {
        return "ModelDefinition{from=" + from + ", files=" + files.keySet() + ", parameters=" + parameters.keySet() + "}";
    }

    /**
     * Builds a {@link ModelDefinition}; every setter validates at once.
     *
     * <p>A builder is not thread-safe.
     */
    public static final class Builder {
        private String from;
        private final Map<String, String> files = new LinkedHashMap<>();
        private String system;
        private String template;
        private String license;
        private final Map<String, Object> parameters = new LinkedHashMap<>();
        private String quantize;

        private Builder() {
        }

        /**
         * @param model the model to start from, or {@code null} for none
         * @return this builder
         */
        public Builder from(String model) {
            this.from = model == null ? null : ServerAddress.checkModelName(model, "from model name");
            return this;
        }

        /**
         * @param name the file's name, such as {@code model.gguf} (no directories)
         * @param digest the digest of its uploaded blob ({@link OllamaClient#pushBlob})
         * @return this builder
         */
        public Builder file(String name, String digest) {
            Objects.requireNonNull(name, "name");
            OllamaClient.checkDigest(digest);
            if (name.isEmpty() || name.length() > 255 || name.contains("/") || name.contains("\\")
                    || name.equals(".") || name.equals("..") || name.chars().anyMatch(Character::isISOControl)) {
                throw new IllegalArgumentException("file name must be a plain name of 1 to 255 chars without"
                        + " directories: '" + ServerAddress.shorten(name) + "'");
            }
            if (!files.containsKey(name) && files.size() >= MAX_ENTRIES) {
                throw new IllegalArgumentException("at most " + MAX_ENTRIES + " files");
            }
            files.put(name, digest);
            return this;
        }

        /** @return this builder without files */
        public Builder clearFiles() {
            files.clear();
            return this;
        }

        /**
         * @param text the system prompt
         * @return this builder
         */
        public Builder system(String text) {
            this.system = text(text, "system");
            return this;
        }

        /**
         * @param text the prompt template, in Ollama's template syntax
         * @return this builder
         */
        public Builder template(String text) {
            this.template = text(text, "template");
            return this;
        }

        /**
         * @param text the license
         * @return this builder
         */
        public Builder license(String text) {
            this.license = text(text, "license");
            return this;
        }

        /**
         * @param level a quantization such as {@code q4_K_M}, for a model created from a 16-bit one
         * @return this builder
         */
        public Builder quantize(String level) {
            Objects.requireNonNull(level, "level");
            if (!level.matches("[A-Za-z0-9_]{1,16}")) {
                throw new IllegalArgumentException("quantize must be a level such as q4_K_M: '"
                        + ServerAddress.shorten(level) + "'");
            }
            this.quantize = level;
            return this;
        }

        /**
         * @param name a parameter such as {@code temperature}, {@code num_ctx} or {@code stop}
         * @param value a number, a boolean, a text or a list of texts (for {@code stop})
         * @return this builder
         */
        public Builder parameter(String name, Object value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (!name.matches("[a-z][a-z0-9_]{0,63}")) {
                throw new IllegalArgumentException("parameter name must be lowercase letters, digits and _: '"
                        + ServerAddress.shorten(name) + "'");
            }
            Object v = value;
            if (value instanceof List<?> list) {
                List<String> texts = new ArrayList<>();
                for (Object o : list) {
                    if (!(o instanceof String s)) {
                        throw new IllegalArgumentException("parameter " + name + " lists texts only");
                    }
                    texts.add(text(s, name));
                }
                v = List.copyOf(texts);
            } else if (value instanceof String s) {
                v = text(s, name);
            } else if (value instanceof Double d && !Double.isFinite(d) || value instanceof Float f && !Float.isFinite(f)) {
                throw new IllegalArgumentException("parameter " + name + " must be finite: " + value);
            } else if (!(value instanceof Number || value instanceof Boolean)) {
                throw new IllegalArgumentException("parameter " + name + " must be a number, a boolean, a text or"
                        + " a list of texts: " + value.getClass().getName());
            }
            if (!parameters.containsKey(name) && parameters.size() >= MAX_ENTRIES) {
                throw new IllegalArgumentException("at most " + MAX_ENTRIES + " parameters");
            }
            parameters.put(name, v);
            return this;
        }

        /** @return the definition */
        public ModelDefinition build() {
            return new ModelDefinition(this);
        }

        private static String text(String s, String what) {
            Objects.requireNonNull(s, what);
            if (s.length() > MAX_TEXT) {
                throw new IllegalArgumentException(what + " must be at most " + MAX_TEXT + " chars: " + s.length());
            }
            if (s.indexOf('\0') >= 0) {
                throw new IllegalArgumentException(what + " must not contain NUL chars");
            }
            return s;
        }
    }
}
