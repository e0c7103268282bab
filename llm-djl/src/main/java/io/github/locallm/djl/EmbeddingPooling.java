package io.github.locallm.djl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.locallm.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * How a sentence embedding is made from the final-norm hidden states of a text, as sentence-transformers makes
 * it from a checkpoint's {@code modules.json}: a Transformer module at the checkpoint's root, a Pooling module
 * (its {@code config.json} names the pooling modes; several modes are concatenated in the order cls, max,
 * mean, mean_sqrt_len_tokens, weightedmean, lasttoken) and, when listed, a Normalize module (L2 normalisation).
 * {@code sentence_bert_config.json} gives {@code max_seq_length} (longer texts are truncated, their special
 * tokens kept) and {@code do_lower_case}. The open settings {@code pooling} and {@code normalize} choose
 * when these files are absent and override them when present.
 *
 * <p>Immutable and thread-safe.
 */
final class EmbeddingPooling {
    /** The pooling modes, in the order sentence-transformers concatenates them. */
    enum Mode {
        CLS("cls", "pooling_mode_cls_token"),
        MAX("max", "pooling_mode_max_tokens"),
        MEAN("mean", "pooling_mode_mean_tokens"),
        MEAN_SQRT_LEN("mean_sqrt_len_tokens", "pooling_mode_mean_sqrt_len_tokens"),
        WEIGHTED_MEAN("weightedmean", "pooling_mode_weightedmean_tokens"),
        LAST("lasttoken", "pooling_mode_lasttoken");

        /** The name in {@code pooling_mode}. */
        final String key;
        /** The flag in the Pooling module's {@code config.json}. */
        final String flag;

        Mode(String key, String flag) {
            this.key = key;
            this.flag = flag;
        }
    }

    /** The open setting that chooses the pooling. */
    static final String POOLING = "pooling";
    /** The open setting that chooses L2 normalisation. */
    static final String NORMALIZE = "normalize";
    static final String MODULES = "modules.json";
    static final String SENTENCE_CONFIG = "sentence_bert_config.json";
    /** Largest configuration file of the embedding modules read, in bytes. */
    private static final long MAX_FILE_BYTES = 1L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final EnumSet<Mode> modes;
    private final boolean normalize;
    private final int maxSeqLength;
    private final boolean lowerCase;
    private final String source;

    /**
     * The embedding setup of a model: a pooling, or why the model cannot embed.
     *
     * @param pooling the pooling, or null
     * @param reason why there is none, or null
     */
    record Setup(EmbeddingPooling pooling, String reason) {
    }

    EmbeddingPooling(EnumSet<Mode> modes, boolean normalize, int maxSeqLength, boolean lowerCase, String source) {
        if (modes.isEmpty()) {
            throw new IllegalArgumentException("no pooling mode");
        }
        this.modes = EnumSet.copyOf(modes);
        this.normalize = normalize;
        this.maxSeqLength = maxSeqLength;
        this.lowerCase = lowerCase;
        this.source = source;
    }

    /**
     * Reads the embedding modules of a checkpoint and applies the open settings.
     *
     * @param dir the checkpoint directory
     * @param model the model, for messages
     * @param width the hidden size
     * @param poolingSetting the {@code pooling} setting, if given
     * @param normalizeSetting the {@code normalize} setting, if given
     * @return the pooling, or the reason the model cannot embed
     * @throws ModelLoadException when a module file is malformed
     * @throws IllegalArgumentException when a setting is not valid
     */
    static Setup read(Path dir, String model, int width, Optional<String> poolingSetting,
                      Optional<Boolean> normalizeSetting) {
        EnumSet<Mode> chosen = poolingSetting.map(p -> parseSetting(p, model)).orElse(null);
        Path modulesFile = dir.resolve(MODULES);
        if (!Files.exists(modulesFile)) {
            if (chosen == null) {
                if (normalizeSetting.isPresent()) {
                    throw new IllegalArgumentException("normalize applies to embeddings, which need a pooling: djl"
                            + " model " + model + " has no " + MODULES + "; add pooling=mean, cls or last (model "
                            + model + ")");
                }
                return new Setup(null, "the checkpoint has no " + MODULES + " naming a sentence-transformers "
                        + "Pooling module; open it with pooling=mean, cls or last (and normalize=true) to embed");
            }
            return new Setup(new EmbeddingPooling(chosen, normalizeSetting.orElse(false), 0, false,
                    "the pooling setting"), null);
        }
        JsonNode modules = readJson(modulesFile, model);
        if (!modules.isArray() || modules.isEmpty()) {
            throw malformed(modulesFile, model, "it is not a non-empty JSON array of modules");
        }
        EnumSet<Mode> configured = null;
        boolean normalize = false;
        boolean transformer = false;
        for (JsonNode m : modules) {
            String type = m.path("type").asText("");
            String path = m.path("path").asText("");
            if (!m.isObject() || !m.path("type").isTextual()) {
                throw malformed(modulesFile, model, "a module is not an object with a type: " + m);
            }
            String kind = type.substring(type.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
            if (kind.equals("transformer") && !transformer && configured == null) {
                if (!path.isEmpty() && !path.equals(".")) {
                    return new Setup(null, MODULES + " puts the Transformer module in '" + path + "'; this backend "
                            + "runs the checkpoint at the root of the directory");
                }
                transformer = true;
            } else if (kind.equals("pooling") && transformer && configured == null) {
                configured = poolingConfig(dir, path, model, width);
            } else if (kind.equals("normalize") && configured != null && !normalize) {
                normalize = true;
            } else {
                return new Setup(null, MODULES + " lists module " + type + " at this place; this backend runs a "
                        + "Transformer, then a Pooling, then optionally a Normalize module");
            }
        }
        if (configured == null) {
            return new Setup(null, MODULES + " has no Pooling module; open it with pooling=mean, cls or last to embed");
        }
        int maxSeq = 0;
        boolean lower = false;
        Path st = dir.resolve(SENTENCE_CONFIG);
        if (Files.exists(st)) {
            JsonNode c = readJson(st, model);
            JsonNode max = c.path("max_seq_length");
            if (!max.isMissingNode() && !max.isNull()) {
                if (!max.canConvertToInt() || !max.isIntegralNumber() || max.asInt() <= 0) {
                    throw malformed(st, model, "max_seq_length must be a positive integer: " + max);
                }
                maxSeq = max.asInt();
            }
            JsonNode lc = c.path("do_lower_case");
            if (!lc.isMissingNode() && !lc.isNull() && !lc.isBoolean()) {
                throw malformed(st, model, "do_lower_case must be true or false: " + lc);
            }
            lower = lc.asBoolean(false);
        }
        return new Setup(new EmbeddingPooling(chosen != null ? chosen : configured, normalizeSetting.orElse(normalize),
                maxSeq, lower, MODULES + (chosen != null || normalizeSetting.isPresent() ? " and the open settings" : "")),
                null);
    }

    private static EnumSet<Mode> poolingConfig(Path dir, String path, String model, int width) {
        Path file = dir.resolve(path).normalize().resolve("config.json");
        if (!file.startsWith(dir.normalize())) {
            throw malformed(dir.resolve(MODULES), model, "the Pooling module's path leaves the checkpoint: " + path);
        }
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException(MODULES + " of djl model " + model + " lists a Pooling module in '" + path
                    + "', but " + file + " is missing; download the model again");
        }
        JsonNode c = readJson(file, model);
        if (!c.isObject()) {
            throw malformed(file, model, "it is not a JSON object");
        }
        JsonNode dim = c.path("word_embedding_dimension");
        if (!dim.isMissingNode() && (!dim.isIntegralNumber() || dim.asLong() != width)) {
            throw malformed(file, model, "word_embedding_dimension " + dim + " is not the model's hidden size "
                    + width);
        }
        EnumSet<Mode> modes = EnumSet.noneOf(Mode.class);
        JsonNode named = c.path("pooling_mode");
        if (named.isTextual()) {
            modes.add(mode(named.asText(), file, model));
        } else if (!named.isMissingNode() && !named.isNull()) {
            throw malformed(file, model, "pooling_mode must be a string: " + named);
        } else {
            for (Mode m : Mode.values()) {
                JsonNode v = c.path(m.flag);
                if (!v.isMissingNode() && !v.isBoolean()) {
                    throw malformed(file, model, m.flag + " must be true or false: " + v);
                }
                // sentence-transformers pools by mean when the file does not say
                if (v.asBoolean(m == Mode.MEAN)) {
                    modes.add(m);
                }
            }
        }
        if (modes.isEmpty()) {
            throw malformed(file, model, "no pooling mode is set");
        }
        return modes;
    }

    private static Mode mode(String name, Path file, String model) {
        for (Mode m : Mode.values()) {
            if (m.key.equals(name.strip().toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw malformed(file, model, "unknown pooling_mode '" + name + "'; known: cls, lasttoken, max, mean, "
                + "mean_sqrt_len_tokens, weightedmean");
    }

    /** Parses the {@code pooling} setting: modes joined by {@code +}; {@code last} is {@code lasttoken}. */
    private static EnumSet<Mode> parseSetting(String value, String model) {
        EnumSet<Mode> modes = EnumSet.noneOf(Mode.class);
        for (String part : value.split("\\+", -1)) {
            String p = part.strip().toLowerCase(Locale.ROOT);
            Mode found = null;
            for (Mode m : Mode.values()) {
                if (m.key.equals(p) || m == Mode.LAST && p.equals("last")) {
                    found = m;
                }
            }
            if (found == null) {
                throw new IllegalArgumentException("pooling must be mean, cls, last, max, mean_sqrt_len_tokens or "
                        + "weightedmean (several joined by +): '" + value + "' (model " + model + ")");
            }
            modes.add(found);
        }
        return modes;
    }

    private static JsonNode readJson(Path file, String model) {
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw malformed(file, model, "it is larger than " + MAX_FILE_BYTES + " bytes");
            }
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null) {
                throw malformed(file, model, "it is empty");
            }
            return n;
        } catch (IOException e) {
            throw new ModelLoadException(file + " of djl model " + model + " cannot be read as JSON: " + e.getMessage()
                    + "; fix or download the file again", e);
        }
    }

    private static ModelLoadException malformed(Path file, String model, String what) {
        return new ModelLoadException(file + " of djl model " + model + " is malformed: " + what
                + "; fix or download the file again");
    }

    /**
     * Pools the hidden states of one text.
     *
     * @param hidden {@code n * width} floats, position by position
     * @param n positions, at least one
     * @param width the hidden size
     * @return {@code modes * width} floats, L2-normalised when configured
     */
    float[] pool(float[] hidden, int n, int width) {
        float[] out = new float[modes.size() * width];
        int at = 0;
        for (Mode m : modes) {
            for (int d = 0; d < width; d++) {
                double v;
                switch (m) {
                    case CLS -> v = hidden[d];
                    case LAST -> v = hidden[(n - 1) * width + d];
                    case MAX -> {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int i = 0; i < n; i++) {
                            max = Math.max(max, hidden[i * width + d]);
                        }
                        v = max;
                    }
                    case WEIGHTED_MEAN -> {
                        double sum = 0;
                        for (int i = 0; i < n; i++) {
                            sum += (i + 1) * (double) hidden[i * width + d];
                        }
                        v = sum / (n * (n + 1.0) / 2);
                    }
                    default -> {
                        double sum = 0;
                        for (int i = 0; i < n; i++) {
                            sum += hidden[i * width + d];
                        }
                        v = m == Mode.MEAN ? sum / n : sum / Math.sqrt(n);
                    }
                }
                out[at + d] = (float) v;
            }
            at += width;
        }
        if (normalize) {
            double ss = 0;
            for (float f : out) {
                ss += (double) f * f;
            }
            // as torch's F.normalize: the norm is clamped below at 1e-12
            double norm = Math.max(Math.sqrt(ss), 1e-12);
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) (out[i] / norm);
            }
        }
        return out;
    }

    /** @return the longest input in tokens, special tokens included, or 0 for no limit of its own */
    int maxSeqLength() {
        return maxSeqLength;
    }

    /** @return whether texts are lower-cased before tokenizing */
    boolean lowerCase() {
        return lowerCase;
    }

    /** @return a description for the model's details, such as {@code mean, normalized (modules.json)} */
    String describe() {
        StringJoiner j = new StringJoiner("+");
        modes.forEach(m -> j.add(m.key));
        return j + (normalize ? ", L2-normalized" : "") + (maxSeqLength > 0 ? ", at most " + maxSeqLength
                + " tokens" : "") + " (from " + source + ")";
    }
}
