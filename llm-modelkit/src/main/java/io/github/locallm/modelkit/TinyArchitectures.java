package io.github.locallm.modelkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Tiny seeded-random Hugging Face checkpoints of the decoder families beyond Llama: Qwen3, Phi-2, Phi-3,
 * Gemma 2, Gemma 3 (text), Mixtral, Qwen2-MoE and Qwen3-MoE, plus Mistral with a sliding window, each as
 * its {@code config.json} (the fields {@code transformers} reads) and its tensors under the names the
 * family's checkpoints use.
 *
 * <p>Sizes are chosen so that every feature shows within a few dozen tokens: windows of 6 positions, a
 * long-rope boundary at 16 positions, soft-caps close to the logit range, four experts with two per token
 * and a router strong enough to send neighbouring tokens to different experts. All share
 * {@link TinyModels#tokenizer()}. Methods are thread-safe; each call builds new tensors.
 *
 * <pre>{@code
 * TinyArchitectures.Model m = TinyArchitectures.gemma2();
 * m.write(dir, HfCheckpointWriter.DType.F32);
 * }</pre>
 */
public final class TinyArchitectures {

    /** Width of every preset. */
    public static final int HIDDEN = 64;
    /** Head width of every preset. */
    public static final int HEAD_DIM = 16;
    /** Attention window of the sliding presets. */
    public static final int WINDOW = 6;

    /**
     * One tiny checkpoint.
     *
     * @param name            a short name
     * @param config          the {@code config.json} content
     * @param tensors         the tensors by Hugging Face name, in writing order
     * @param tokenizer       the tokenizer
     * @param tokenizerConfig the {@code tokenizer_config.json} content
     */
    public record Model(String name, Map<String, Object> config, Map<String, Tensor> tensors, BpeTokenizer tokenizer,
                        Map<String, Object> tokenizerConfig) {

        /**
         * Writes the checkpoint directory.
         *
         * @param dir   the directory
         * @param dtype how to store the weights
         * @throws IOException if a file cannot be written
         */
        public void write(Path dir, HfCheckpointWriter.DType dtype) throws IOException {
            HfCheckpointWriter.writeCustom(dir, config, tensors, tokenizer, tokenizerConfig, dtype);
        }

        /**
         * Returns a copy with some config fields replaced (a {@code null} value writes JSON null).
         *
         * @param changes the fields to set
         * @return the copy
         */
        public Model withConfig(Map<String, Object> changes) {
            Map<String, Object> c = new LinkedHashMap<>(config);
            c.putAll(changes);
            return new Model(name, Collections.unmodifiableMap(c), tensors, tokenizer, tokenizerConfig);
        }
    }

    private TinyArchitectures() {
    }

    /** Returns a Qwen3 (per-head q/k RMSNorm, explicit head_dim, no biases). */
    public static Model qwen3() {
        Map<String, Object> c = base("Qwen3ForCausalLM", "qwen3", 2, 4, 2);
        c.put("head_dim", HEAD_DIM);
        c.put("attention_bias", false);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 1000000.0);
        c.put("use_sliding_window", false);
        c.put("sliding_window", null);
        c.put("tie_word_embeddings", true);
        return build("qwen3", c, noBosConfig(), 11);
    }

    /** Returns a Mistral whose attention window (6 positions) is shorter than the test sequences. */
    public static Model mistral() {
        Map<String, Object> c = base("MistralForCausalLM", "mistral", 2, 4, 2);
        c.put("sliding_window", WINDOW);
        c.put("rms_norm_eps", 1e-5);
        return build("mistral", c, bosConfig(true), 12);
    }

    /** Returns a Phi-2 (LayerNorm with bias, partial RoPE, parallel attention and MLP, gelu_new). */
    public static Model phi2() {
        Map<String, Object> c = base("PhiForCausalLM", "phi", 2, 4, 4);
        c.put("partial_rotary_factor", 0.5);
        c.put("layer_norm_eps", 1e-5);
        c.put("hidden_act", "gelu_new");
        c.put("qk_layernorm", false);
        c.put("resid_pdrop", 0.1);
        c.put("embd_pdrop", 0.0);
        c.remove("rms_norm_eps");
        return build("phi2", c, noBosConfig(), 13);
    }

    /** Returns a Phi-3 (fused qkv and gate_up, long-rope scaling switching at 16 positions). */
    public static Model phi3() {
        Map<String, Object> c = base("Phi3ForCausalLM", "phi3", 2, 4, 2);
        c.put("max_position_embeddings", 64);
        c.put("original_max_position_embeddings", 16);
        Map<String, Object> rope = new LinkedHashMap<>();
        rope.put("type", "longrope");
        List<Double> shortF = new ArrayList<>();
        List<Double> longF = new ArrayList<>();
        for (int i = 0; i < HEAD_DIM / 2; i++) {
            shortF.add(1.0 + 0.05 * i);
            longF.add(1.0 + 0.5 * i * i);
        }
        rope.put("short_factor", shortF);
        rope.put("long_factor", longF);
        c.put("rope_scaling", rope);
        c.put("sliding_window", null);
        c.put("rms_norm_eps", 1e-5);
        return build("phi3", c, bosConfig(false), 14);
    }

    /** Returns a Gemma 2 (sandwich norms, soft-capping, query scalar, alternate sliding layers). */
    public static Model gemma2() {
        Map<String, Object> c = base("Gemma2ForCausalLM", "gemma2", 2, 4, 2);
        c.put("head_dim", HEAD_DIM);
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("hidden_act", "gelu_pytorch_tanh");
        c.put("query_pre_attn_scalar", 24);
        c.put("attn_logit_softcapping", 5.0);
        c.put("final_logit_softcapping", 4.0);
        c.put("sliding_window", WINDOW);
        c.put("tie_word_embeddings", true);
        return build("gemma2", c, bosConfig(true), 15);
    }

    /** Returns a Gemma 3 text model (q/k norms, local RoPE base on sliding layers, linear scaling on global). */
    public static Model gemma3() {
        Map<String, Object> c = base("Gemma3ForCausalLM", "gemma3_text", 2, 4, 2);
        c.put("head_dim", HEAD_DIM);
        c.put("hidden_activation", "gelu_pytorch_tanh");
        c.put("query_pre_attn_scalar", HEAD_DIM);
        c.put("attn_logit_softcapping", null);
        c.put("final_logit_softcapping", null);
        c.put("sliding_window", WINDOW);
        c.put("sliding_window_pattern", 2);
        c.put("rope_theta", 1000000.0);
        c.put("rope_local_base_freq", 10000.0);
        c.put("rope_scaling", Map.of("rope_type", "linear", "factor", 4.0));
        c.put("tie_word_embeddings", true);
        return build("gemma3", c, bosConfig(true), 16);
    }

    /** Returns a Mixtral (4 experts, 2 per token, renormalised weights). */
    public static Model mixtral() {
        Map<String, Object> c = base("MixtralForCausalLM", "mixtral", 2, 4, 2);
        c.put("num_local_experts", 4);
        c.put("num_experts_per_tok", 2);
        c.put("intermediate_size", 96);
        c.put("sliding_window", null);
        c.put("router_aux_loss_coef", 0.02);
        return build("mixtral", c, bosConfig(true), 17);
    }

    /** Returns a Qwen2-MoE (4 experts, 2 per token, not renormalised, a gated shared expert, layer 1 dense). */
    public static Model qwen2Moe() {
        Map<String, Object> c = base("Qwen2MoeForCausalLM", "qwen2_moe", 2, 4, 2);
        c.put("num_experts", 4);
        c.put("num_experts_per_tok", 2);
        c.put("moe_intermediate_size", 48);
        c.put("shared_expert_intermediate_size", 80);
        c.put("norm_topk_prob", false);
        c.put("decoder_sparse_step", 1);
        c.put("mlp_only_layers", List.of(1));
        c.put("use_sliding_window", false);
        c.put("sliding_window", null);
        return build("qwen2moe", c, noBosConfig(), 18);
    }

    /** Returns a Qwen3-MoE (4 experts, 2 per token, renormalised, per-head q/k RMSNorm). */
    public static Model qwen3Moe() {
        Map<String, Object> c = base("Qwen3MoeForCausalLM", "qwen3_moe", 2, 4, 2);
        c.put("head_dim", HEAD_DIM);
        c.put("num_experts", 4);
        c.put("num_experts_per_tok", 2);
        c.put("moe_intermediate_size", 48);
        c.put("norm_topk_prob", true);
        c.put("decoder_sparse_step", 1);
        c.put("mlp_only_layers", List.of());
        c.put("attention_bias", false);
        c.put("use_sliding_window", false);
        c.put("sliding_window", null);
        return build("qwen3moe", c, noBosConfig(), 19);
    }

    /** Returns every preset. */
    public static List<Model> all() {
        return List.of(qwen3(), mistral(), phi2(), phi3(), gemma2(), gemma3(), mixtral(), qwen2Moe(), qwen3Moe());
    }

    private static Map<String, Object> base(String arch, String type, int layers, int heads, int kvHeads) {
        BpeTokenizer tok = TinyModels.tokenizer();
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("architectures", List.of(arch));
        c.put("model_type", type);
        c.put("vocab_size", tok.size());
        c.put("hidden_size", HIDDEN);
        c.put("intermediate_size", 128);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("hidden_act", "silu");
        c.put("max_position_embeddings", 2048);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 10000.0);
        c.put("rope_scaling", null);
        c.put("tie_word_embeddings", false);
        c.put("bos_token_id", tok.tokenId(BpeTokenizer.END_OF_TEXT));
        c.put("eos_token_id", tok.tokenId(BpeTokenizer.IM_END));
        return c;
    }

    private static Map<String, Object> bosConfig(boolean addBos) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("add_bos_token", addBos);
        m.put("add_eos_token", false);
        m.put("bos_token", BpeTokenizer.END_OF_TEXT);
        m.put("eos_token", BpeTokenizer.IM_END);
        m.put("chat_template", CheckpointModel.CHATML_TEMPLATE);
        m.put("tokenizer_class", "PreTrainedTokenizerFast");
        return m;
    }

    private static Map<String, Object> noBosConfig() {
        Map<String, Object> m = bosConfig(false);
        m.remove("add_bos_token");
        m.remove("add_eos_token");
        return m;
    }

    /** Tensor names and shapes of a config, in the families' own naming. */
    static Map<String, long[]> shapes(Map<String, Object> c) {
        String arch = ((List<?>) c.get("architectures")).get(0).toString();
        int h = HIDDEN;
        int heads = (Integer) c.get("num_attention_heads");
        int kv = (Integer) c.get("num_key_value_heads");
        int hd = c.containsKey("head_dim") ? (Integer) c.get("head_dim") : h / heads;
        int inter = (Integer) c.get("intermediate_size");
        int vocab = (Integer) c.get("vocab_size");
        int layers = (Integer) c.get("num_hidden_layers");
        boolean phi = arch.equals("PhiForCausalLM");
        boolean gemma = arch.startsWith("Gemma");
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", new long[] {vocab, h});
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            m.put(p + "input_layernorm.weight", new long[] {h});
            if (phi) {
                m.put(p + "input_layernorm.bias", new long[] {h});
            }
            if (arch.equals("Phi3ForCausalLM")) {
                m.put(p + "self_attn.qkv_proj.weight", new long[] {(long) (heads + 2 * kv) * hd, h});
            } else {
                m.put(p + "self_attn.q_proj.weight", new long[] {(long) heads * hd, h});
                m.put(p + "self_attn.k_proj.weight", new long[] {(long) kv * hd, h});
                m.put(p + "self_attn.v_proj.weight", new long[] {(long) kv * hd, h});
                if (phi || arch.equals("Qwen2MoeForCausalLM")) {
                    m.put(p + "self_attn.q_proj.bias", new long[] {(long) heads * hd});
                    m.put(p + "self_attn.k_proj.bias", new long[] {(long) kv * hd});
                    m.put(p + "self_attn.v_proj.bias", new long[] {(long) kv * hd});
                }
            }
            if (phi) {
                m.put(p + "self_attn.dense.weight", new long[] {h, (long) heads * hd});
                m.put(p + "self_attn.dense.bias", new long[] {h});
            } else {
                m.put(p + "self_attn.o_proj.weight", new long[] {h, (long) heads * hd});
            }
            if (arch.startsWith("Qwen3") || arch.equals("Gemma3ForCausalLM")) {
                m.put(p + "self_attn.q_norm.weight", new long[] {hd});
                m.put(p + "self_attn.k_norm.weight", new long[] {hd});
            }
            if (!phi) {
                m.put(p + "post_attention_layernorm.weight", new long[] {h});
            }
            if (gemma) {
                m.put(p + "pre_feedforward_layernorm.weight", new long[] {h});
                m.put(p + "post_feedforward_layernorm.weight", new long[] {h});
            }
            boolean denseMoeLayer = c.containsKey("mlp_only_layers") && ((List<?>) c.get("mlp_only_layers")).contains(i);
            if (phi) {
                m.put(p + "mlp.fc1.weight", new long[] {inter, h});
                m.put(p + "mlp.fc1.bias", new long[] {inter});
                m.put(p + "mlp.fc2.weight", new long[] {h, inter});
                m.put(p + "mlp.fc2.bias", new long[] {h});
            } else if (arch.equals("Phi3ForCausalLM")) {
                m.put(p + "mlp.gate_up_proj.weight", new long[] {2L * inter, h});
                m.put(p + "mlp.down_proj.weight", new long[] {h, inter});
            } else if (arch.equals("MixtralForCausalLM")) {
                int e = (Integer) c.get("num_local_experts");
                m.put(p + "block_sparse_moe.gate.weight", new long[] {e, h});
                for (int x = 0; x < e; x++) {
                    String ep = p + "block_sparse_moe.experts." + x + ".";
                    m.put(ep + "w1.weight", new long[] {inter, h});
                    m.put(ep + "w2.weight", new long[] {h, inter});
                    m.put(ep + "w3.weight", new long[] {inter, h});
                }
            } else if (arch.endsWith("MoeForCausalLM") && !denseMoeLayer) {
                int e = (Integer) c.get("num_experts");
                int ei = (Integer) c.get("moe_intermediate_size");
                m.put(p + "mlp.gate.weight", new long[] {e, h});
                for (int x = 0; x < e; x++) {
                    gated(m, p + "mlp.experts." + x + ".", ei, h);
                }
                if (c.containsKey("shared_expert_intermediate_size")) {
                    gated(m, p + "mlp.shared_expert.", (Integer) c.get("shared_expert_intermediate_size"), h);
                    m.put(p + "mlp.shared_expert_gate.weight", new long[] {1, h});
                }
            } else {
                gated(m, p + "mlp.", inter, h);
            }
        }
        m.put(phi ? "model.final_layernorm.weight" : "model.norm.weight", new long[] {h});
        if (phi) {
            m.put("model.final_layernorm.bias", new long[] {h});
        }
        if (!Boolean.TRUE.equals(c.get("tie_word_embeddings"))) {
            m.put("lm_head.weight", new long[] {vocab, h});
            if (phi) {
                m.put("lm_head.bias", new long[] {vocab});
            }
        }
        return m;
    }

    private static void gated(Map<String, long[]> m, String p, int inter, int h) {
        m.put(p + "gate_proj.weight", new long[] {inter, h});
        m.put(p + "up_proj.weight", new long[] {inter, h});
        m.put(p + "down_proj.weight", new long[] {h, inter});
    }

    private static Model build(String name, Map<String, Object> config, Map<String, Object> tokConfig, long seed) {
        Objects.requireNonNull(config, "config");
        String arch = ((List<?>) config.get("architectures")).get(0).toString();
        boolean gemma = arch.startsWith("Gemma");
        boolean tied = Boolean.TRUE.equals(config.get("tie_word_embeddings"));
        BpeTokenizer tok = TinyModels.tokenizer();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes(config).entrySet()) {
            String n = e.getKey();
            int count = Math.toIntExact(Tensor.elementCount(e.getValue()));
            Random r = new Random(seed * 1_000_003L + n.hashCode());
            float[] d = new float[count];
            long[] shape = e.getValue();
            double std;
            double mean = 0;
            if (n.endsWith("norm.weight") || n.endsWith("layernorm.weight")) {
                // Gemma norms multiply by (1 + w): centre them on 0 so the factor stays near 1.
                mean = gemma ? 0 : 1;
                std = 0.1;
                if (n.equals("model.norm.weight") && tied) {
                    mean = gemma ? 1.5 : 3.0;
                }
            } else if (n.endsWith(".bias")) {
                std = 0.1;
            } else if (n.equals("model.embed_tokens.weight")) {
                std = tied ? 0.5 : 0.1;
                if (gemma) {
                    std = 0.05;
                }
            } else if (n.equals("lm_head.weight")) {
                std = 3.0 / Math.sqrt(HIDDEN);
            } else if (n.endsWith("gate.weight") && !n.contains("proj")) {
                // Routers: strong enough that tokens disagree about their experts.
                std = 4.0 / Math.sqrt(HIDDEN);
            } else if (n.contains("q_proj") || n.contains("k_proj") || n.contains("qkv_proj")) {
                std = 2.0 / Math.sqrt(HIDDEN);
            } else {
                std = 1.0 / Math.sqrt(shape[shape.length - 1]);
            }
            for (int i = 0; i < count; i++) {
                d[i] = (float) (mean + std * r.nextGaussian());
            }
            boolean outputRows = n.equals("lm_head.weight") || (tied && n.equals("model.embed_tokens.weight"));
            if (outputRows) {
                for (int id : tok.specialTokens().values()) {
                    for (int j = 0; j < HIDDEN; j++) {
                        d[id * HIDDEN + j] *= 0.05f;
                    }
                }
            }
            tensors.put(n, new Tensor(n, shape, d));
        }
        return new Model(name, Collections.unmodifiableMap(config), Collections.unmodifiableMap(tensors), tok,
                Collections.unmodifiableMap(tokConfig));
    }
}
