package io.github.locallm.djl;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.locallm.ModelLoadException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The parts of a checkpoint's {@code config.json} the decoder needs, read per architecture and checked for
 * consistency before anything is allocated: every size is bounded, every product of sizes is computed
 * without overflow, RoPE bases and epsilons are positive and finite, head sizes agree.
 *
 * <p>Immutable.
 */
final class CheckpointConfig {

    /** The families this decoder implements; each is one or more {@code architectures} names. */
    enum Family {
        /** Llama, Mistral and Qwen2: RMSNorm, rotate-half RoPE, SwiGLU. */
        LLAMA,
        /** Qwen3: Llama with per-head q/k RMSNorm. */
        QWEN3,
        /** Phi-2: LayerNorm with bias, partial RoPE, parallel attention and MLP, GELU. */
        PHI,
        /** Phi-3 and Phi-4: fused qkv and gate/up projections, long-rope scaling. */
        PHI3,
        /** Gemma 2: (1 + w) norms, pre and post norms, soft-capping, alternating sliding windows. */
        GEMMA2,
        /** Gemma 3 text: Gemma 2 with q/k norms, local RoPE base, a sliding-window pattern. */
        GEMMA3,
        /** Mixtral: sparse mixture of experts with renormalised top-k weights. */
        MIXTRAL,
        /** Qwen2-MoE: experts plus a gated shared expert. */
        QWEN2_MOE,
        /** Qwen3-MoE: experts with per-head q/k RMSNorm. */
        QWEN3_MOE
    }

    /** How a norm computes. */
    enum NormKind {
        /** {@code x / rms(x) * w}. */
        RMS,
        /** {@code x / rms(x) * (1 + w)}. */
        RMS_PLUS_ONE,
        /** {@code (x - mean) / std * w + b}. */
        LAYER
    }

    /** Architecture names accepted, with their family. */
    static final List<String> SUPPORTED = List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
            "Qwen3ForCausalLM", "PhiForCausalLM", "Phi3ForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM",
            "MixtralForCausalLM", "Qwen2MoeForCausalLM", "Qwen3MoeForCausalLM");

    /** RoPE scaling types accepted. */
    static final List<String> ROPE_TYPES = List.of("default", "linear", "dynamic", "llama3", "yarn", "longrope");

    // Bounds far above any released model, low enough that no product of them overflows a long.
    static final int MAX_LAYERS = 1024;
    static final int MAX_WIDTH = 1 << 17;
    static final int MAX_VOCAB = 1 << 22;
    static final int MAX_HEADS = 1024;
    static final int MAX_HEAD_DIM = 1024;
    static final int MAX_INTERMEDIATE = 1 << 20;
    static final int MAX_EXPERTS = 1024;
    static final int MAX_POSITIONS = 1 << 24;

    /**
     * RoPE frequency scaling.
     *
     * @param type one of {@link #ROPE_TYPES}
     * @param factor the scaling factor
     * @param lowFreqFactor llama3 low-frequency factor
     * @param highFreqFactor llama3 high-frequency factor
     * @param originalMaxPositions the context length the model was trained with
     * @param attentionFactor yarn and longrope: multiplies cos and sin; 0 when computed from the factor
     * @param betaFast yarn fast boundary
     * @param betaSlow yarn slow boundary
     * @param truncate yarn: whether the correction range is rounded to whole dimensions
     * @param shortFactor longrope factors up to the original length
     * @param longFactor longrope factors beyond it
     */
    record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                       int originalMaxPositions, double attentionFactor, double betaFast, double betaSlow,
                       boolean truncate, double[] shortFactor, double[] longFactor) {
        static final RopeScaling NONE = new RopeScaling("default", 1, 0, 0, 0, 0, 0, 0, true, null, null);
    }

    final String architecture;
    final Family family;
    final int vocabSize;
    final int hiddenSize;
    final int intermediateSize;
    final int numLayers;
    final int numHeads;
    final int numKvHeads;
    final int headDim;
    final int rotaryDim;
    final double ropeTheta;
    final double ropeLocalTheta;
    final RopeScaling rope;
    final double normEps;
    final NormKind normKind;
    final int maxPositionEmbeddings;
    final boolean tieWordEmbeddings;
    final boolean qkvBias;
    final boolean oBias;
    final boolean mlpBias;
    final boolean qkNorm;
    final boolean parallelBlock;
    final boolean sandwichNorms;
    final boolean embedScale;
    final String activation;
    final double attentionScale;
    final double attnSoftcap;
    final double finalSoftcap;
    /** Per layer: the attention window in positions, 0 for full attention. */
    final int[] windows;
    final int numExperts;
    final int expertsPerToken;
    final int expertIntermediate;
    final int sharedExpertIntermediate;
    final boolean normTopK;
    /** Per layer: whether its MLP is the mixture of experts. */
    final boolean[] sparse;
    final List<Integer> eosTokenIds;
    final int bosTokenId;

    private CheckpointConfig(Reader r) {
        architecture = r.arch;
        family = r.family;
        vocabSize = r.vocab;
        hiddenSize = r.hidden;
        intermediateSize = r.inter;
        numLayers = r.layers;
        numHeads = r.heads;
        numKvHeads = r.kvHeads;
        headDim = r.headDim;
        rotaryDim = r.rotaryDim;
        ropeTheta = r.theta;
        ropeLocalTheta = r.localTheta;
        rope = r.rope;
        normEps = r.eps;
        normKind = r.normKind;
        maxPositionEmbeddings = r.maxPos;
        tieWordEmbeddings = r.tie;
        qkvBias = r.qkvBias;
        oBias = r.oBias;
        mlpBias = r.mlpBias;
        qkNorm = r.qkNorm;
        parallelBlock = r.family == Family.PHI;
        sandwichNorms = r.family == Family.GEMMA2 || r.family == Family.GEMMA3;
        embedScale = sandwichNorms;
        activation = r.act;
        attentionScale = r.attnScale;
        attnSoftcap = r.attnSoftcap;
        finalSoftcap = r.finalSoftcap;
        windows = r.windows;
        numExperts = r.experts;
        expertsPerToken = r.topK;
        expertIntermediate = r.expertInter;
        sharedExpertIntermediate = r.sharedInter;
        normTopK = r.normTopK;
        sparse = r.sparse;
        eosTokenIds = r.eos;
        bosTokenId = r.bos;
    }

    String architecture() {
        return architecture;
    }

    int vocabSize() {
        return vocabSize;
    }

    int hiddenSize() {
        return hiddenSize;
    }

    int numLayers() {
        return numLayers;
    }

    int numHeads() {
        return numHeads;
    }

    int numKvHeads() {
        return numKvHeads;
    }

    int headDim() {
        return headDim;
    }

    int maxPositionEmbeddings() {
        return maxPositionEmbeddings;
    }

    boolean tieWordEmbeddings() {
        return tieWordEmbeddings;
    }

    List<Integer> eosTokenIds() {
        return eosTokenIds;
    }

    int bosTokenId() {
        return bosTokenId;
    }

    double rmsNormEps() {
        return normEps;
    }

    /** @return the largest attention window of any layer, or 0 when some layer attends to everything */
    int slidingWindow() {
        int max = 0;
        for (int w : windows) {
            if (w == 0) {
                return 0;
            }
            max = Math.max(max, w);
        }
        return max;
    }

    /**
     * @return the longest context the model is meant for: its trained length, times the factor for dynamic
     *     RoPE scaling (which exists to go beyond it)
     */
    int contextLimit() {
        if (rope.type().equals("dynamic")) {
            return (int) Math.min(MAX_POSITIONS, (long) (maxPositionEmbeddings * rope.factor()));
        }
        return maxPositionEmbeddings;
    }

    /** @return whether any layer is a mixture of experts */
    boolean hasExperts() {
        return numExperts > 0;
    }

    /**
     * Parses and checks a config.
     *
     * @param root the parsed {@code config.json}
     * @param model the model, for messages
     * @return the config
     * @throws ModelLoadException for an unsupported architecture or rope type, or inconsistent values
     */
    static CheckpointConfig parse(JsonNode root, String model) {
        return new CheckpointConfig(new Reader(root, model));
    }

    /** Reads and checks one config.json; separate from the immutable result. */
    private static final class Reader {
        private final JsonNode root;
        private final String model;
        String arch;
        Family family;
        int vocab;
        int hidden;
        int inter;
        int layers;
        int heads;
        int kvHeads;
        int headDim;
        int rotaryDim;
        double theta;
        double localTheta;
        RopeScaling rope;
        double eps;
        NormKind normKind;
        int maxPos;
        boolean tie;
        boolean qkvBias;
        boolean oBias;
        boolean mlpBias;
        boolean qkNorm;
        String act;
        double attnScale;
        double attnSoftcap;
        double finalSoftcap;
        int[] windows;
        int experts;
        int topK;
        int expertInter;
        int sharedInter;
        boolean normTopK;
        boolean[] sparse;
        List<Integer> eos;
        int bos;

        Reader(JsonNode root, String model) {
            this.root = root;
            this.model = model;
            arch = architecture();
            family = family(arch);
            vocab = bounded("vocab_size", MAX_VOCAB);
            hidden = bounded("hidden_size", MAX_WIDTH);
            layers = bounded("num_hidden_layers", MAX_LAYERS);
            heads = bounded("num_attention_heads", MAX_HEADS);
            kvHeads = present("num_key_value_heads") ? bounded("num_key_value_heads", MAX_HEADS) : heads;
            if (heads % kvHeads != 0) {
                throw bad("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
            }
            if (present("head_dim")) {
                headDim = bounded("head_dim", MAX_HEAD_DIM);
            } else {
                if (hidden % heads != 0) {
                    throw bad("hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
                }
                headDim = hidden / heads;
                if (headDim > MAX_HEAD_DIM) {
                    throw bad("the head dimension " + headDim + " exceeds " + MAX_HEAD_DIM);
                }
            }
            double partial = family == Family.PHI ? real("partial_rotary_factor", 0.5)
                    : real("partial_rotary_factor", 1.0);
            if (!(partial > 0 && partial <= 1)) {
                throw bad("partial_rotary_factor must be in (0, 1]: " + partial);
            }
            rotaryDim = (int) (headDim * partial);
            if (rotaryDim < 2 || rotaryDim % 2 != 0) {
                throw bad("the rotary dimension " + rotaryDim + " (head dimension " + headDim
                        + " x partial_rotary_factor " + partial + ") must be even and at least 2");
            }
            maxPos = present("max_position_embeddings") ? bounded("max_position_embeddings", MAX_POSITIONS) : 2048;
            // transformers 5 saves the RoPE settings as rope_parameters: one object, or one per layer type
            JsonNode params = root.path("rope_parameters");
            JsonNode globalParams = params.has("full_attention") ? params.get("full_attention") : params;
            JsonNode localParams = params.path("sliding_attention");
            theta = present("rope_theta") ? real("rope_theta", 10000.0)
                    : realIn(globalParams, "rope_parameters.rope_theta", 10000.0);
            if (!(theta > 1) || Double.isInfinite(theta)) {
                throw bad("rope_theta must be a finite number above 1: " + theta);
            }
            localTheta = family != Family.GEMMA3 ? theta : present("rope_local_base_freq")
                    ? real("rope_local_base_freq", 10000.0)
                    : realIn(localParams, "rope_parameters.sliding_attention.rope_theta", 10000.0);
            if (!(localTheta > 1) || Double.isInfinite(localTheta)) {
                throw bad("rope_local_base_freq must be a finite number above 1: " + localTheta);
            }
            rope = ropeScaling(present("rope_scaling") || !globalParams.isObject() ? root.path("rope_scaling")
                    : globalParams);
            normKind = switch (family) {
                case PHI -> NormKind.LAYER;
                case GEMMA2, GEMMA3 -> NormKind.RMS_PLUS_ONE;
                default -> NormKind.RMS;
            };
            eps = family == Family.PHI ? real("layer_norm_eps", 1e-5) : real("rms_norm_eps", 1e-6);
            if (!(eps > 0) || eps >= 1 || Double.isInfinite(eps)) {
                throw bad((family == Family.PHI ? "layer_norm_eps" : "rms_norm_eps")
                        + " must be a finite number in (0, 1): " + eps);
            }
            tie = bool("tie_word_embeddings", family == Family.GEMMA2 || family == Family.GEMMA3);
            boolean attnBias = bool("attention_bias", false);
            qkvBias = switch (family) {
                case QWEN2_MOE, PHI -> true;
                case LLAMA -> arch.equals("Qwen2ForCausalLM") || attnBias;
                default -> attnBias;
            };
            oBias = family == Family.PHI || (family == Family.LLAMA && !arch.equals("Qwen2ForCausalLM") && attnBias)
                    || (family == Family.QWEN3 && attnBias) || (family == Family.QWEN3_MOE && attnBias);
            mlpBias = family == Family.PHI || (family == Family.LLAMA && bool("mlp_bias", false));
            qkNorm = family == Family.QWEN3 || family == Family.QWEN3_MOE || family == Family.GEMMA3
                    || (family == Family.PHI && bool("qk_layernorm", false));
            act = activation();
            attnScale = 1.0 / Math.sqrt(headDim);
            if (family == Family.GEMMA2 || family == Family.GEMMA3) {
                double scalar = real("query_pre_attn_scalar", headDim);
                if (!(scalar > 0) || Double.isInfinite(scalar)) {
                    throw bad("query_pre_attn_scalar must be a positive number: " + scalar);
                }
                attnScale = 1.0 / Math.sqrt(scalar);
            }
            attnSoftcap = family == Family.GEMMA2 || family == Family.GEMMA3 ? softcap("attn_logit_softcapping") : 0;
            finalSoftcap = family == Family.GEMMA2 || family == Family.GEMMA3 ? softcap("final_logit_softcapping") : 0;
            windows = windows();
            experts();
            inter = family == Family.MIXTRAL || sparseOnly() ? positiveOr("intermediate_size", MAX_INTERMEDIATE, 1)
                    : bounded("intermediate_size", MAX_INTERMEDIATE);
            eos = ids(root.path("eos_token_id"));
            bos = root.path("bos_token_id").canConvertToInt() ? root.path("bos_token_id").asInt(-1) : -1;
            for (int id : eos) {
                if (id < 0 || id >= vocab) {
                    throw bad("eos_token_id " + id + " is outside the vocabulary of " + vocab);
                }
            }
            if (bos >= vocab) {
                throw bad("bos_token_id " + bos + " is outside the vocabulary of " + vocab);
            }
            checkSizes();
        }

        private boolean sparseOnly() {
            for (boolean s : sparse) {
                if (!s) {
                    return false;
                }
            }
            return experts > 0;
        }

        private String architecture() {
            JsonNode archs = root.path("architectures");
            if (archs.isArray() && archs.size() > 0 && archs.get(0).isTextual()) {
                return archs.get(0).asText();
            }
            String type = root.path("model_type").asText("");
            return switch (type) {
                case "llama" -> "LlamaForCausalLM";
                case "mistral" -> "MistralForCausalLM";
                case "qwen2" -> "Qwen2ForCausalLM";
                case "qwen3" -> "Qwen3ForCausalLM";
                case "phi" -> "PhiForCausalLM";
                case "phi3" -> "Phi3ForCausalLM";
                case "gemma2" -> "Gemma2ForCausalLM";
                case "gemma3_text" -> "Gemma3ForCausalLM";
                case "mixtral" -> "MixtralForCausalLM";
                case "qwen2_moe" -> "Qwen2MoeForCausalLM";
                case "qwen3_moe" -> "Qwen3MoeForCausalLM";
                default -> type.isEmpty() ? "(none given)" : "model_type " + type;
            };
        }

        private Family family(String a) {
            return switch (a) {
                case "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM" -> Family.LLAMA;
                case "Qwen3ForCausalLM" -> Family.QWEN3;
                case "PhiForCausalLM" -> Family.PHI;
                case "Phi3ForCausalLM" -> Family.PHI3;
                case "Gemma2ForCausalLM" -> Family.GEMMA2;
                case "Gemma3ForCausalLM" -> Family.GEMMA3;
                case "MixtralForCausalLM" -> Family.MIXTRAL;
                case "Qwen2MoeForCausalLM" -> Family.QWEN2_MOE;
                case "Qwen3MoeForCausalLM" -> Family.QWEN3_MOE;
                default -> throw new ModelLoadException("model " + model + " has architecture " + a
                        + ", which the djl backend does not implement; supported: " + String.join(", ", SUPPORTED)
                        + ", and the text model of " + MultimodalText.GEMMA3
                        + ". Use the llamacpp backend with a GGUF conversion of this model instead");
            };
        }

        private String activation() {
            String key = family == Family.GEMMA2 || family == Family.GEMMA3 ? "hidden_activation" : "hidden_act";
            String fallback = switch (family) {
                case PHI -> "gelu_new";
                case GEMMA2, GEMMA3 -> "gelu_pytorch_tanh";
                default -> "silu";
            };
            JsonNode n = root.path(key);
            if (n.isNull() && (family == Family.GEMMA2 || family == Family.GEMMA3)) {
                n = root.path("hidden_act");
            }
            String a = n.isTextual() ? n.asText() : fallback;
            if (!List.of("silu", "swish", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast").contains(a)) {
                throw new ModelLoadException("model " + model + " uses the activation '" + a + "' (" + key
                        + "), which the djl backend does not implement; supported: silu, gelu, gelu_new, "
                        + "gelu_pytorch_tanh");
            }
            return a.equals("swish") ? "silu" : a.equals("gelu_fast") ? "gelu_new" : a;
        }

        private double softcap(String key) {
            if (!present(key)) {
                return 0;
            }
            double v = real(key, 0);
            if (!(v > 0) || Double.isInfinite(v)) {
                throw bad(key + " must be a positive number or null: " + v);
            }
            return v;
        }

        private int[] windows() {
            int[] w = new int[layers];
            int window = present("sliding_window") ? bounded("sliding_window", MAX_POSITIONS) : 0;
            JsonNode types = root.path("layer_types");
            if (types.isArray()) {
                if (types.size() != layers) {
                    throw bad("layer_types lists " + types.size() + " layers, num_hidden_layers is " + layers);
                }
                for (int i = 0; i < layers; i++) {
                    String t = types.get(i).asText("");
                    if (t.equals("sliding_attention")) {
                        if (window == 0) {
                            throw bad("layer " + i + " is sliding_attention but sliding_window is not set");
                        }
                        w[i] = window;
                    } else if (!t.equals("full_attention")) {
                        throw bad("layer_types[" + i + "] is '" + t + "'; expected sliding_attention or "
                                + "full_attention");
                    }
                }
                return w;
            }
            if (window == 0) {
                return w;
            }
            switch (family) {
                case GEMMA2 -> {
                    for (int i = 0; i < layers; i++) {
                        w[i] = i % 2 == 0 ? window : 0;
                    }
                }
                case GEMMA3 -> {
                    int pattern = present("sliding_window_pattern") ? bounded("sliding_window_pattern", MAX_LAYERS) : 6;
                    for (int i = 0; i < layers; i++) {
                        w[i] = (i + 1) % pattern != 0 ? window : 0;
                    }
                }
                case LLAMA, QWEN3, QWEN2_MOE, QWEN3_MOE -> {
                    boolean qwen = !arch.equals("LlamaForCausalLM") && !arch.equals("MistralForCausalLM");
                    if (qwen) {
                        if (bool("use_sliding_window", false)) {
                            int from = present("max_window_layers") ? bounded("max_window_layers", MAX_LAYERS) : layers;
                            for (int i = from; i < layers; i++) {
                                w[i] = window;
                            }
                        }
                    } else if (arch.equals("MistralForCausalLM")) {
                        java.util.Arrays.fill(w, window);
                    }
                }
                case PHI3, MIXTRAL -> java.util.Arrays.fill(w, window);
                default -> {
                }
            }
            return w;
        }

        private void experts() {
            sparse = new boolean[layers];
            switch (family) {
                case MIXTRAL -> {
                    experts = bounded("num_local_experts", MAX_EXPERTS);
                    topK = bounded("num_experts_per_tok", MAX_EXPERTS);
                    expertInter = bounded("intermediate_size", MAX_INTERMEDIATE);
                    normTopK = true;
                    java.util.Arrays.fill(sparse, true);
                }
                case QWEN2_MOE, QWEN3_MOE -> {
                    experts = bounded("num_experts", MAX_EXPERTS);
                    topK = bounded("num_experts_per_tok", MAX_EXPERTS);
                    expertInter = bounded("moe_intermediate_size", MAX_INTERMEDIATE);
                    normTopK = bool("norm_topk_prob", false);
                    if (family == Family.QWEN2_MOE) {
                        sharedInter = present("shared_expert_intermediate_size")
                                ? bounded("shared_expert_intermediate_size", MAX_INTERMEDIATE) : 0;
                    }
                    int step = present("decoder_sparse_step") ? bounded("decoder_sparse_step", MAX_LAYERS) : 1;
                    Set<Integer> dense = new HashSet<>();
                    JsonNode only = root.path("mlp_only_layers");
                    if (only.isArray()) {
                        only.forEach(x -> {
                            if (!x.canConvertToInt() || x.asInt() < 0 || x.asInt() >= layers) {
                                throw bad("mlp_only_layers names layer " + x + ", outside 0.." + (layers - 1));
                            }
                            dense.add(x.asInt());
                        });
                    }
                    for (int i = 0; i < layers; i++) {
                        sparse[i] = !dense.contains(i) && (i + 1) % step == 0;
                    }
                }
                default -> {
                    return;
                }
            }
            if (topK > experts) {
                throw bad("num_experts_per_tok " + topK + " exceeds the " + experts + " experts");
            }
        }

        private RopeScaling ropeScaling(JsonNode n) {
            if (n.isMissingNode() || n.isNull()) {
                return RopeScaling.NONE;
            }
            if (!n.isObject()) {
                throw bad("rope_scaling must be an object or null: " + n);
            }
            String type = n.hasNonNull("rope_type") ? n.get("rope_type").asText() : n.path("type").asText("default");
            if (type.equals("su")) {
                type = "longrope";
            }
            if (!ROPE_TYPES.contains(type)) {
                throw new ModelLoadException("model " + model + " uses rope_scaling type '" + type
                        + "', which the djl backend does not implement; supported: " + String.join(", ", ROPE_TYPES));
            }
            double factor = n.path("factor").isNumber() ? n.path("factor").asDouble() : 1.0;
            JsonNode originalNode = n.path("original_max_position_embeddings");
            if (type.equals("yarn") && !n.path("factor").isNumber() && originalNode.canConvertToInt()
                    && originalNode.asInt() > 0) {
                // as transformers does: without an explicit factor, yarn stretches the original context to
                // max_position_embeddings
                factor = (double) maxPos / originalNode.asInt();
            }
            if (!type.equals("default") && !type.equals("longrope") && (!(factor >= 1) || Double.isInfinite(factor))) {
                throw bad("rope_scaling factor must be a finite number of at least 1: " + n.path("factor"));
            }
            int original = n.path("original_max_position_embeddings").canConvertToInt()
                    && n.path("original_max_position_embeddings").asInt() > 0
                    ? n.path("original_max_position_embeddings").asInt()
                    : root.path("original_max_position_embeddings").canConvertToInt()
                    && root.path("original_max_position_embeddings").asInt() > 0
                    ? root.path("original_max_position_embeddings").asInt() : maxPos;
            double attention = n.path("attention_factor").isNumber() ? n.path("attention_factor").asDouble() : 0;
            if (attention < 0 || Double.isNaN(attention) || Double.isInfinite(attention)) {
                throw bad("rope_scaling attention_factor must be a positive number: " + attention);
            }
            switch (type) {
                case "default":
                    return RopeScaling.NONE;
                case "llama3": {
                    double low = n.path("low_freq_factor").asDouble(1);
                    double high = n.path("high_freq_factor").asDouble(4);
                    if (!(low > 0) || !(high > low) || Double.isInfinite(high)) {
                        throw bad("llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor: " + n);
                    }
                    return new RopeScaling(type, factor, low, high,
                            n.path("original_max_position_embeddings").asInt(8192), 0, 0, 0, true, null, null);
                }
                case "yarn": {
                    if (attention == 0) {
                        double ms = n.path("mscale").asDouble(0);
                        double msAll = n.path("mscale_all_dim").asDouble(0);
                        attention = ms != 0 && msAll != 0 ? yarnMscale(factor, ms) / yarnMscale(factor, msAll)
                                : yarnMscale(factor, 1);
                    }
                    double fast = n.path("beta_fast").isNumber() ? n.path("beta_fast").asDouble() : 32;
                    double slow = n.path("beta_slow").isNumber() ? n.path("beta_slow").asDouble() : 1;
                    if (!(fast > 0) || !(slow > 0)) {
                        throw bad("yarn beta_fast and beta_slow must be positive: " + n);
                    }
                    return new RopeScaling(type, factor, 0, 0, original, attention, fast, slow,
                            n.path("truncate").asBoolean(true), null, null);
                }
                case "longrope": {
                    double[] shortF = factors(n.path("short_factor"), "short_factor");
                    double[] longF = factors(n.path("long_factor"), "long_factor");
                    if (attention == 0) {
                        double scale = (double) maxPos / original;
                        attention = scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(original));
                    }
                    return new RopeScaling(type, factor, 0, 0, original, attention, 0, 0, true, shortF, longF);
                }
                default:
                    return new RopeScaling(type, factor, 0, 0, original, 0, 0, 0, true, null, null);
            }
        }

        private double[] factors(JsonNode n, String key) {
            if (!n.isArray() || n.size() != rotaryDim / 2) {
                throw bad("longrope " + key + " must list " + rotaryDim / 2 + " numbers (rotary dimension / 2)");
            }
            double[] out = new double[n.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = n.get(i).asDouble(-1);
                if (!n.get(i).isNumber() || !(out[i] > 0) || Double.isInfinite(out[i])) {
                    throw bad("longrope " + key + "[" + i + "] must be a positive number: " + n.get(i));
                }
            }
            return out;
        }

        /** Checks that the largest tensors and the per-token arithmetic stay far inside a long. */
        private void checkSizes() {
            try {
                long embed = Math.multiplyExact((long) vocab, hidden);
                long qkv = Math.multiplyExact(Math.multiplyExact((long) heads + 2L * kvHeads, headDim), hidden);
                long mlp = Math.multiplyExact(Math.multiplyExact(3L, Math.max(inter, expertInter)), hidden);
                long perLayer = Math.addExact(qkv, mlp);
                if (experts > 0) {
                    perLayer = Math.addExact(perLayer, Math.multiplyExact(Math.multiplyExact(3L * experts,
                            expertInter), hidden));
                }
                Math.multiplyExact(Math.addExact(perLayer, embed), (long) layers + 2);
            } catch (ArithmeticException e) {
                throw bad("the sizes multiply beyond any model that fits in memory");
            }
        }

        private boolean present(String key) {
            return root.has(key) && !root.get(key).isNull();
        }

        private int bounded(String key, int max) {
            JsonNode n = root.path(key);
            if (n.isMissingNode() || n.isNull()) {
                throw bad(key + " is missing");
            }
            if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() <= 0) {
                throw bad(key + " is not a positive integer: " + n);
            }
            if (n.asLong() > max) {
                throw bad(key + " is " + n.asLong() + ", above the largest supported value " + max);
            }
            return n.asInt();
        }

        private int positiveOr(String key, int max, int fallback) {
            return present(key) ? bounded(key, max) : fallback;
        }

        /** A number inside an object of config.json ({@code what} names it for messages), or the fallback. */
        private double realIn(JsonNode object, String what, double fallback) {
            JsonNode n = object.path(what.substring(what.lastIndexOf('.') + 1));
            if (!object.isObject() || n.isMissingNode() || n.isNull()) {
                return fallback;
            }
            if (!n.isNumber() || Double.isNaN(n.asDouble()) || Double.isInfinite(n.asDouble())) {
                throw bad(what + " is not a finite number: " + n);
            }
            return n.asDouble();
        }

        private double real(String key, double fallback) {
            JsonNode n = root.path(key);
            if (n.isMissingNode() || n.isNull()) {
                return fallback;
            }
            if (!n.isNumber()) {
                throw bad(key + " is not a number: " + n);
            }
            double v = n.asDouble();
            if (Double.isNaN(v) || Double.isInfinite(v)) {
                throw bad(key + " is not finite: " + n);
            }
            return v;
        }

        private boolean bool(String key, boolean fallback) {
            JsonNode n = root.path(key);
            if (n.isMissingNode() || n.isNull()) {
                return fallback;
            }
            if (!n.isBoolean()) {
                throw bad(key + " is not true or false: " + n);
            }
            return n.asBoolean();
        }

        private ModelLoadException bad(String what) {
            return new ModelLoadException("config.json of model " + model + " is invalid: " + what
                    + ". Fix config.json or download the checkpoint again");
        }
    }

    private static double yarnMscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    private static List<Integer> ids(JsonNode n) {
        List<Integer> out = new ArrayList<>();
        if (n.canConvertToInt() && n.isIntegralNumber()) {
            out.add(n.asInt());
        } else if (n.isArray()) {
            n.forEach(x -> {
                if (x.isIntegralNumber() && x.canConvertToInt()) {
                    out.add(x.asInt());
                }
            });
        }
        return List.copyOf(out);
    }

    /** @return the RoPE inverse frequencies of the global layers at short sequence lengths */
    double[] inverseFrequencies() {
        return inverseFrequencies(false, 1);
    }

    /**
     * The RoPE inverse frequencies of a layer for a forward pass that reaches {@code seqLen} positions (dynamic
     * and long-rope scaling depend on it), one per pair of rotary dimensions.
     *
     * @param local whether the layer uses the local base (Gemma 3 sliding layers), which is never scaled
     * @param seqLen the positions seen after this forward pass
     * @return the frequencies
     */
    double[] inverseFrequencies(boolean local, int seqLen) {
        int half = rotaryDim / 2;
        double base = local ? ropeLocalTheta : ropeTheta;
        String type = local ? "default" : rope.type();
        if (type.equals("dynamic") && seqLen > rope.originalMaxPositions()) {
            base = base * Math.pow(rope.factor() * seqLen / rope.originalMaxPositions() - (rope.factor() - 1),
                    rotaryDim / (rotaryDim - 2.0));
        }
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(base, (2.0 * i) / rotaryDim);
        }
        switch (type) {
            case "linear" -> {
                for (int i = 0; i < half; i++) {
                    inv[i] /= rope.factor();
                }
            }
            case "llama3" -> {
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
            }
            case "yarn" -> {
                double low = correctionDim(rope.betaFast(), base);
                double high = correctionDim(rope.betaSlow(), base);
                if (rope.truncate()) {
                    low = Math.floor(low);
                    high = Math.ceil(high);
                }
                low = Math.max(low, 0);
                high = Math.min(high, rotaryDim - 1);
                if (low == high) {
                    high += 0.001;
                }
                for (int i = 0; i < half; i++) {
                    double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
                    double extrapolation = 1 - ramp;
                    inv[i] = inv[i] / rope.factor() * (1 - extrapolation) + inv[i] * extrapolation;
                }
            }
            case "longrope" -> {
                double[] ext = seqLen > rope.originalMaxPositions() ? rope.longFactor() : rope.shortFactor();
                for (int i = 0; i < half; i++) {
                    inv[i] /= ext[i];
                }
            }
            default -> {
            }
        }
        return inv;
    }

    private double correctionDim(double rotations, double base) {
        return rotaryDim * Math.log(rope.originalMaxPositions() / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    /** @return the factor cos and sin are multiplied by (yarn and longrope), 1 otherwise */
    double ropeAttentionFactor(boolean local) {
        if (local) {
            return 1;
        }
        return rope.type().equals("yarn") || rope.type().equals("longrope") ? rope.attentionFactor() : 1;
    }

    /** @return whether the frequencies of a layer depend on the sequence length */
    boolean ropeDependsOnLength() {
        return rope.type().equals("dynamic") || rope.type().equals("longrope");
    }

    @Override
    public String toString() {
        return architecture + "[layers " + numLayers + ", width " + hiddenSize + ", heads " + numHeads + "/"
                + numKvHeads + " x " + headDim + (numExperts > 0 ? ", experts " + expertsPerToken + " of "
                + numExperts : "") + ", rope " + rope.type().toLowerCase(Locale.ROOT) + "]";
    }
}
