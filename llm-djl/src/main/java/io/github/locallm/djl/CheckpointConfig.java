package io.github.locallm.djl;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.ModelLoadException;
import java.util.List;

/**
 * The parts of a checkpoint's {@code config.json} the decoder needs, checked for consistency.
 *
 * @param architecture the architecture class name, such as {@code LlamaForCausalLM}
 * @param vocabSize rows of the embedding
 * @param hiddenSize model width
 * @param intermediateSize MLP width
 * @param numLayers decoder layers
 * @param numHeads query heads
 * @param numKvHeads key/value heads (grouped-query attention when fewer than query heads)
 * @param headDim width of one head
 * @param ropeTheta RoPE base
 * @param rope RoPE frequency scaling
 * @param rmsNormEps RMSNorm epsilon
 * @param maxPositionEmbeddings the trained context length
 * @param tieWordEmbeddings whether the output projection reuses the embedding
 * @param attentionBias whether q/k/v projections have biases
 * @param oBias whether the output projection of attention has a bias
 * @param mlpBias whether the MLP projections have biases
 * @param slidingWindow the attention window, or 0 for none
 * @param eosTokenIds end tokens named by the config
 * @param bosTokenId the begin token, or -1
 */
record CheckpointConfig(String architecture, int vocabSize, int hiddenSize, int intermediateSize, int numLayers,
                        int numHeads, int numKvHeads, int headDim, double ropeTheta, RopeScaling rope,
                        double rmsNormEps, int maxPositionEmbeddings, boolean tieWordEmbeddings,
                        boolean attentionBias, boolean oBias, boolean mlpBias, int slidingWindow,
                        List<Integer> eosTokenIds, int bosTokenId) {

    /** Architectures this decoder implements. */
    static final List<String> SUPPORTED = List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM");

    /**
     * RoPE frequency scaling.
     *
     * @param type {@code none}, {@code linear} or {@code llama3}
     * @param factor the scaling factor
     * @param lowFreqFactor llama3 low-frequency factor
     * @param highFreqFactor llama3 high-frequency factor
     * @param originalMaxPositions llama3 original context length
     */
    record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                       int originalMaxPositions) {
        static final RopeScaling NONE = new RopeScaling("none", 1, 0, 0, 0);
    }

    /**
     * Parses and checks a config.
     *
     * @param root the parsed {@code config.json}
     * @param model the model, for messages
     * @return the config
     * @throws ModelLoadException for an unsupported architecture or inconsistent values
     */
    static CheckpointConfig parse(JsonNode root, String model) {
        String arch = "";
        JsonNode archs = root.path("architectures");
        if (archs.isArray() && archs.size() > 0) {
            arch = archs.get(0).asText("");
        }
        if (arch.isEmpty()) {
            String type = root.path("model_type").asText("");
            arch = switch (type) {
                case "llama" -> "LlamaForCausalLM";
                case "mistral" -> "MistralForCausalLM";
                case "qwen2" -> "Qwen2ForCausalLM";
                default -> type.isEmpty() ? "(none given)" : "model_type " + type;
            };
        }
        if (!SUPPORTED.contains(arch)) {
            throw new ModelLoadException("model " + model + " has architecture " + arch
                    + ", which the djl backend does not implement; supported: " + String.join(", ", SUPPORTED)
                    + ". Use the llamacpp backend with a GGUF conversion of this model instead");
        }
        boolean qwen2 = arch.equals("Qwen2ForCausalLM");
        int hidden = positive(root, "hidden_size", model);
        int heads = positive(root, "num_attention_heads", model);
        int kvHeads = root.has("num_key_value_heads") && !root.get("num_key_value_heads").isNull()
                ? positive(root, "num_key_value_heads", model) : heads;
        if (heads % kvHeads != 0) {
            throw bad(model, "num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim;
        if (root.hasNonNull("head_dim")) {
            headDim = positive(root, "head_dim", model);
        } else {
            if (hidden % heads != 0) {
                throw bad(model, "hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
            }
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) {
            throw bad(model, "the head dimension " + headDim + " is odd; RoPE needs an even one");
        }
        int maxPos = root.hasNonNull("max_position_embeddings") ? positive(root, "max_position_embeddings", model)
                : 2048;
        int window = 0;
        JsonNode sw = root.path("sliding_window");
        boolean useWindow = qwen2 ? root.path("use_sliding_window").asBoolean(false) : true;
        if (useWindow && sw.isNumber() && sw.asInt() > 0 && sw.asInt() < maxPos) {
            window = sw.asInt();
        }
        return new CheckpointConfig(arch,
                positive(root, "vocab_size", model),
                hidden,
                positive(root, "intermediate_size", model),
                positive(root, "num_hidden_layers", model),
                heads, kvHeads, headDim,
                root.path("rope_theta").asDouble(10000.0),
                ropeScaling(root.path("rope_scaling"), model),
                root.path("rms_norm_eps").asDouble(1e-6),
                maxPos,
                root.path("tie_word_embeddings").asBoolean(false),
                qwen2 || root.path("attention_bias").asBoolean(false),
                !qwen2 && root.path("attention_bias").asBoolean(false),
                root.path("mlp_bias").asBoolean(false),
                window,
                ids(root.path("eos_token_id")),
                root.path("bos_token_id").asInt(-1));
    }

    private static RopeScaling ropeScaling(JsonNode n, String model) {
        if (n.isMissingNode() || n.isNull()) {
            return RopeScaling.NONE;
        }
        String type = n.hasNonNull("rope_type") ? n.get("rope_type").asText() : n.path("type").asText("");
        switch (type) {
            case "default":
                return RopeScaling.NONE;
            case "linear":
                return new RopeScaling("linear", n.path("factor").asDouble(1), 0, 0, 0);
            case "llama3":
                return new RopeScaling("llama3", n.path("factor").asDouble(8),
                        n.path("low_freq_factor").asDouble(1), n.path("high_freq_factor").asDouble(4),
                        n.path("original_max_position_embeddings").asInt(8192));
            default:
                throw new ModelLoadException("model " + model + " uses rope_scaling type '" + type
                        + "', which the djl backend does not implement; supported: default, linear, llama3");
        }
    }

    private static List<Integer> ids(JsonNode n) {
        if (n.isInt()) {
            return List.of(n.asInt());
        }
        if (n.isArray()) {
            java.util.ArrayList<Integer> out = new java.util.ArrayList<>();
            n.forEach(x -> {
                if (x.isInt()) {
                    out.add(x.asInt());
                }
            });
            return List.copyOf(out);
        }
        return List.of();
    }

    private static int positive(JsonNode root, String key, String model) {
        JsonNode n = root.path(key);
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
            throw bad(model, key + " is " + (n.isMissingNode() ? "missing" : "not a positive integer: " + n));
        }
        return n.asInt();
    }

    private static ModelLoadException bad(String model, String what) {
        return new ModelLoadException("config.json of model " + model + " is invalid: " + what
                + ". Fix config.json or download the checkpoint again");
    }

    /** @return the RoPE inverse frequencies, one per pair of head dimensions, scaling applied */
    double[] inverseFrequencies() {
        int half = headDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
        }
        switch (rope.type()) {
            case "linear":
                for (int i = 0; i < half; i++) {
                    inv[i] /= rope.factor();
                }
                break;
            case "llama3": {
                double lowWavelen = rope.originalMaxPositions() / rope.lowFreqFactor();
                double highWavelen = rope.originalMaxPositions() / rope.highFreqFactor();
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) {
                        inv[i] /= rope.factor();
                    } else if (wavelen >= highWavelen) {
                        double smooth = (rope.originalMaxPositions() / wavelen - rope.lowFreqFactor())
                                / (rope.highFreqFactor() - rope.lowFreqFactor());
                        inv[i] = (1 - smooth) * inv[i] / rope.factor() + smooth * inv[i];
                    }
                }
                break;
            }
            default:
                break;
        }
        return inv;
    }
}
