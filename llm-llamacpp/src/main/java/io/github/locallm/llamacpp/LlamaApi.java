package io.github.locallm.llamacpp;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;

/**
 * The part of llama.cpp's C API ({@code llama.h}) and ggml's that this backend calls, mapped with JNA.
 *
 * <p>Struct layouts follow the {@code llama.h} of the pinned build ({@link LlamaRuntime#PINNED_COMMIT});
 * {@link LlamaRuntime} checks them against the loaded library (sizes and default values) before any other
 * call. C {@code bool} is mapped to {@code byte}: a JNA {@code boolean} field is 4 bytes wide and would shift
 * every later field. Not part of the public API.
 */
final class LlamaApi {

    private LlamaApi() {
    }

    /** Functions of {@code libggml-base}. */
    public interface GgmlBase extends Library {
        String ggml_commit();

        String ggml_version();

        void ggml_log_set(LogCallback callback, Pointer userData);
    }

    /** Functions of {@code libggml} (the backend registry). */
    public interface Ggml extends Library {
        void ggml_backend_load_all_from_path(String dir);

        /** Loads one backend library; NULL when it cannot be loaded or does not run on this machine. */
        Pointer ggml_backend_load(String path);

        long ggml_backend_dev_count();

        Pointer ggml_backend_dev_get(long index);

        String ggml_backend_dev_name(Pointer device);

        String ggml_backend_dev_description(Pointer device);

        /** {@code enum ggml_backend_dev_type}: 0 CPU, 1 GPU, 2 integrated GPU, 3 accelerator. */
        int ggml_backend_dev_type(Pointer device);

        long ggml_backend_reg_count();

        Pointer ggml_backend_reg_get(long index);

        String ggml_backend_reg_name(Pointer reg);
    }

    /** Functions of {@code libllama}. */
    public interface Llama extends Library {
        void llama_backend_init();

        void llama_log_set(LogCallback callback, Pointer userData);

        String llama_print_system_info();

        ModelParams.ByValue llama_model_default_params();

        ContextParams.ByValue llama_context_default_params();

        Pointer llama_model_load_from_file(String path, ModelParams.ByValue params);

        void llama_model_free(Pointer model);

        Pointer llama_init_from_model(Pointer model, ContextParams.ByValue params);

        void llama_free(Pointer ctx);

        int llama_model_desc(Pointer model, byte[] buf, long size);

        long llama_model_size(Pointer model);

        int llama_model_n_embd(Pointer model);

        int llama_model_n_ctx_train(Pointer model);

        int llama_model_n_embd_out(Pointer model);

        /** {@code uint32_t}: the number of classifier outputs (1 when the model names no labels). */
        int llama_model_n_cls_out(Pointer model);

        /** The label of classifier output i, or {@code null}. */
        String llama_model_cls_label(Pointer model, int i);

        int llama_model_n_layer(Pointer model);

        byte llama_model_has_encoder(Pointer model);

        byte llama_model_has_decoder(Pointer model);

        int llama_model_meta_val_str(Pointer model, String key, byte[] buf, long size);

        Pointer llama_model_get_vocab(Pointer model);

        int llama_vocab_n_tokens(Pointer vocab);

        int llama_vocab_type(Pointer vocab);

        int llama_vocab_bos(Pointer vocab);

        int llama_vocab_eos(Pointer vocab);

        byte llama_vocab_get_add_bos(Pointer vocab);

        byte llama_vocab_is_eog(Pointer vocab, int token);

        int llama_tokenize(Pointer vocab, byte[] text, int textLen, int[] tokens, int maxTokens, byte addSpecial,
                           byte parseSpecial);

        int llama_token_to_piece(Pointer vocab, int token, byte[] buf, int length, int lstrip, byte special);

        int llama_detokenize(Pointer vocab, int[] tokens, int nTokens, byte[] text, int textLenMax,
                             byte removeSpecial, byte unparseSpecial);

        int llama_n_ctx(Pointer ctx);

        int llama_n_batch(Pointer ctx);

        int llama_n_ubatch(Pointer ctx);

        int llama_pooling_type(Pointer ctx);

        int llama_decode(Pointer ctx, Batch.ByValue batch);

        int llama_encode(Pointer ctx, Batch.ByValue batch);

        void llama_set_n_threads(Pointer ctx, int threads, int threadsBatch);

        Pointer llama_get_logits_ith(Pointer ctx, int i);

        Pointer llama_get_embeddings_seq(Pointer ctx, int seqId);

        Pointer llama_get_embeddings_ith(Pointer ctx, int i);

        Pointer llama_get_memory(Pointer ctx);

        void llama_memory_clear(Pointer memory, byte data);

        byte llama_memory_seq_rm(Pointer memory, int seqId, int p0, int p1);

        int llama_memory_seq_pos_max(Pointer memory, int seqId);

        void llama_synchronize(Pointer ctx);

        Pointer llama_sampler_chain_init(SamplerChainParams.ByValue params);

        void llama_sampler_chain_add(Pointer chain, Pointer sampler);

        int llama_sampler_chain_n(Pointer chain);

        void llama_sampler_free(Pointer sampler);

        void llama_sampler_reset(Pointer sampler);

        void llama_sampler_accept(Pointer sampler, int token);

        int llama_sampler_sample(Pointer sampler, Pointer ctx, int idx);

        Pointer llama_sampler_init_greedy();

        Pointer llama_sampler_init_dist(int seed);

        Pointer llama_sampler_init_top_k(int k);

        Pointer llama_sampler_init_top_p(float p, long minKeep);

        Pointer llama_sampler_init_min_p(float p, long minKeep);

        Pointer llama_sampler_init_typical(float p, long minKeep);

        Pointer llama_sampler_init_temp(float t);

        Pointer llama_sampler_init_temp_ext(float t, float delta, float exponent);

        Pointer llama_sampler_init_xtc(float p, float t, long minKeep, int seed);

        Pointer llama_sampler_init_mirostat(int nVocab, int seed, float tau, float eta, int m);

        Pointer llama_sampler_init_mirostat_v2(int seed, float tau, float eta);

        Pointer llama_sampler_init_grammar(Pointer vocab, String grammar, String root);

        Pointer llama_sampler_init_grammar_lazy_patterns(Pointer vocab, String grammar, String root,
                                                         String[] triggerPatterns, long nPatterns,
                                                         int[] triggerTokens, long nTokens);

        Pointer llama_sampler_init_penalties(int lastN, float repeat, float freq, float present);

        Pointer llama_sampler_init_dry(Pointer vocab, float multiplier, float base, int allowedLength,
                                       int penaltyLastN, String[] seqBreakers, long nBreakers);

        Pointer llama_sampler_init_logit_bias(int nVocab, int nLogitBias, Pointer logitBias);
    }

    /** {@code ggml_log_callback}: {@code void (*)(enum ggml_log_level, const char *, void *)}. */
    public interface LogCallback extends Callback {
        void invoke(int level, Pointer text, Pointer userData);
    }

    /** {@code struct llama_model_params} (80 bytes on 64-bit platforms). */
    @Structure.FieldOrder({"devices", "tensor_buft_overrides", "n_gpu_layers", "split_mode", "load_mode",
            "lazy_mode", "main_gpu", "tensor_split", "progress_callback", "progress_callback_user_data",
            "kv_overrides", "vocab_only", "check_tensors", "use_extra_bufts", "no_host", "no_alloc", "load_mtp"})
    public static class ModelParams extends Structure {
        public Pointer devices;
        public Pointer tensor_buft_overrides;
        public int n_gpu_layers;
        public int split_mode;
        public int load_mode;
        public int lazy_mode;
        public int main_gpu;
        public Pointer tensor_split;
        public Pointer progress_callback;
        public Pointer progress_callback_user_data;
        public Pointer kv_overrides;
        public byte vocab_only;
        public byte check_tensors;
        public byte use_extra_bufts;
        public byte no_host;
        public byte no_alloc;
        public byte load_mtp;

        public ModelParams() {
        }

        public ModelParams(Pointer p) {
            super(p);
            read();
        }

        /** Passed and returned by value. */
        public static class ByValue extends ModelParams implements Structure.ByValue {
            public ByValue() {
            }

            public ByValue(Pointer p) {
                super(p);
            }
        }
    }

    /** {@code struct llama_context_params} (160 bytes on 64-bit platforms). */
    @Structure.FieldOrder({"n_ctx", "n_batch", "n_ubatch", "n_seq_max", "n_rs_seq", "n_outputs_max",
            "n_outputs_max_per_seq", "n_threads", "n_threads_batch", "ctx_type", "rope_scaling_type", "pooling_type",
            "attention_type", "flash_attn_type", "rope_freq_base", "rope_freq_scale", "yarn_ext_factor",
            "yarn_attn_factor", "yarn_beta_fast", "yarn_beta_slow", "yarn_orig_ctx", "defrag_thold", "cb_eval",
            "cb_eval_user_data", "type_k", "type_v", "abort_callback", "abort_callback_data", "embeddings",
            "offload_kqv", "no_perf", "op_offload", "swa_full", "kv_unified", "samplers", "n_samplers", "ctx_other"})
    public static class ContextParams extends Structure {
        public int n_ctx;
        public int n_batch;
        public int n_ubatch;
        public int n_seq_max;
        public int n_rs_seq;
        public int n_outputs_max;
        public int n_outputs_max_per_seq;
        public int n_threads;
        public int n_threads_batch;
        public int ctx_type;
        public int rope_scaling_type;
        public int pooling_type;
        public int attention_type;
        public int flash_attn_type;
        public float rope_freq_base;
        public float rope_freq_scale;
        public float yarn_ext_factor;
        public float yarn_attn_factor;
        public float yarn_beta_fast;
        public float yarn_beta_slow;
        public int yarn_orig_ctx;
        public float defrag_thold;
        public Pointer cb_eval;
        public Pointer cb_eval_user_data;
        public int type_k;
        public int type_v;
        public Pointer abort_callback;
        public Pointer abort_callback_data;
        public byte embeddings;
        public byte offload_kqv;
        public byte no_perf;
        public byte op_offload;
        public byte swa_full;
        public byte kv_unified;
        public Pointer samplers;
        public long n_samplers;
        public Pointer ctx_other;

        public ContextParams() {
        }

        public ContextParams(Pointer p) {
            super(p);
            read();
        }

        /** Passed and returned by value. */
        public static class ByValue extends ContextParams implements Structure.ByValue {
            public ByValue() {
            }

            public ByValue(Pointer p) {
                super(p);
            }
        }
    }

    /** {@code struct llama_sampler_chain_params}. */
    @Structure.FieldOrder({"no_perf"})
    public static class SamplerChainParams extends Structure {
        public byte no_perf;

        /** Passed by value. */
        public static class ByValue extends SamplerChainParams implements Structure.ByValue {
        }
    }

    /** {@code struct llama_batch} (56 bytes on 64-bit platforms). */
    @Structure.FieldOrder({"n_tokens", "token", "embd", "pos", "n_seq_id", "seq_id", "logits"})
    public static class Batch extends Structure {
        public int n_tokens;
        public Pointer token;
        public Pointer embd;
        public Pointer pos;
        public Pointer n_seq_id;
        public Pointer seq_id;
        public Pointer logits;

        /** Passed by value. */
        public static class ByValue extends Batch implements Structure.ByValue {
        }
    }
}
