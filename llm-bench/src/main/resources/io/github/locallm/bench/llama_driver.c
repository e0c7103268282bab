/*
 * The native anchor of the engine benchmark: the same llama.cpp libraries the llamacpp engine loads, driven
 * from C the way llama.cpp's own simple example drives them (one context, the prompt decoded in batches, then
 * greedy decoding one token at a time), timed like the Java benchmark: time to first token from the start of
 * the request (tokenization included) to the first sampled token, generation tokens/s over the tokens after
 * the first.
 *
 * The declarations below are those of llama.h at the llama.cpp commit the natives jar carries (the Java binding
 * checks the same layouts at load time); only what this driver calls is declared.
 *
 * usage: llama_driver LIBDIR MODEL THREADS CTX GEN_TOKENS --serve
 * loads the model, runs one 4-token request, prints "READY load_ms", then for each line "N PROMPT_FILE" read from standard input runs one request of
 * N generated tokens and prints "DONE ttft_ms gen_tps prompt_tps prompt_tokens" (or "FAILED"); ends at the end
 * of its input. A Java child that runs its own requests between this driver's ones uses it, so that both sides
 * are timed at the same moments of the machine.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct llama_model;
struct llama_context;
struct llama_vocab;
struct llama_sampler;
typedef struct llama_memory_i *llama_memory_t;

struct llama_model_params {
    void *devices;
    const void *tensor_buft_overrides;
    int32_t n_gpu_layers;
    int32_t split_mode;
    int32_t load_mode;
    int32_t lazy_mode;
    int32_t main_gpu;
    const float *tensor_split;
    void *progress_callback;
    void *progress_callback_user_data;
    const void *kv_overrides;
    bool vocab_only, check_tensors, use_extra_bufts, no_host, no_alloc, load_mtp;
};

struct llama_context_params {
    uint32_t n_ctx, n_batch, n_ubatch, n_seq_max, n_rs_seq, n_outputs_max, n_outputs_max_per_seq;
    int32_t n_threads, n_threads_batch;
    int32_t ctx_type, rope_scaling_type, pooling_type, attention_type, flash_attn_type;
    float rope_freq_base, rope_freq_scale, yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
    uint32_t yarn_orig_ctx;
    float defrag_thold;
    void *cb_eval;
    void *cb_eval_user_data;
    int32_t type_k, type_v;
    void *abort_callback;
    void *abort_callback_data;
    bool embeddings, offload_kqv, no_perf, op_offload, swa_full, kv_unified;
    void *samplers;
    size_t n_samplers;
    struct llama_context *ctx_other;
};

typedef struct llama_batch {
    int32_t n_tokens;
    int32_t *token;
    float *embd;
    int32_t *pos;
    int32_t *n_seq_id;
    int32_t **seq_id;
    int8_t *logits;
} llama_batch;

struct llama_sampler_chain_params {
    bool no_perf;
};

extern void ggml_backend_load_all_from_path(const char *dir);
extern void llama_backend_init(void);
extern void llama_log_set(void *callback, void *user_data);
extern struct llama_model_params llama_model_default_params(void);
extern struct llama_context_params llama_context_default_params(void);
extern struct llama_model *llama_model_load_from_file(const char *path, struct llama_model_params params);
extern struct llama_context *llama_init_from_model(struct llama_model *model, struct llama_context_params params);
extern const struct llama_vocab *llama_model_get_vocab(const struct llama_model *model);
extern int32_t llama_tokenize(const struct llama_vocab *vocab, const char *text, int32_t text_len, int32_t *tokens,
                              int32_t n_tokens_max, bool add_special, bool parse_special);
extern llama_batch llama_batch_get_one(int32_t *tokens, int32_t n_tokens);
extern int32_t llama_decode(struct llama_context *ctx, llama_batch batch);
extern llama_memory_t llama_get_memory(const struct llama_context *ctx);
extern void llama_memory_clear(llama_memory_t mem, bool data);
extern struct llama_sampler *llama_sampler_chain_init(struct llama_sampler_chain_params params);
extern void llama_sampler_chain_add(struct llama_sampler *chain, struct llama_sampler *smpl);
extern struct llama_sampler *llama_sampler_init_greedy(void);
extern int32_t llama_sampler_sample(struct llama_sampler *smpl, struct llama_context *ctx, int32_t idx);
extern void llama_sampler_free(struct llama_sampler *smpl);
extern void llama_free(struct llama_context *ctx);
extern void llama_model_free(struct llama_model *model);

static void quiet(int level, const char *text, void *user) {
    (void) level;
    (void) text;
    (void) user;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t) n + 1);
    size_t got = fread(buf, 1, (size_t) n, f);
    buf[got] = 0;
    fclose(f);
    return buf;
}

/* One request; returns 0 and fills the timings, or -1. */
static int request(struct llama_context *ctx, const struct llama_vocab *vocab, const char *text, int gen,
                   int n_batch, double *ttft, double *gen_tps, double *prompt_tps, int *prompt_count) {
    llama_memory_clear(llama_get_memory(ctx), true);
    double t0 = now_ms();
    int32_t cap = (int32_t) strlen(text) + 16;
    int32_t *tokens = malloc(sizeof(int32_t) * (size_t) cap);
    int32_t n = llama_tokenize(vocab, text, (int32_t) strlen(text), tokens, cap, false, true);
    if (n <= 0) {
        free(tokens);
        return -1;
    }
    for (int32_t from = 0; from < n; from += n_batch) {
        int32_t count = n - from < n_batch ? n - from : n_batch;
        if (llama_decode(ctx, llama_batch_get_one(tokens + from, count)) != 0) {
            free(tokens);
            return -1;
        }
    }
    struct llama_sampler_chain_params sp = {true};
    struct llama_sampler *smpl = llama_sampler_chain_init(sp);
    llama_sampler_chain_add(smpl, llama_sampler_init_greedy());
    double first = 0, last = 0;
    int32_t token;
    for (int i = 0; i < gen; i++) {
        token = llama_sampler_sample(smpl, ctx, -1);
        last = now_ms();
        if (i == 0) {
            first = last;
        }
        if (i + 1 < gen && llama_decode(ctx, llama_batch_get_one(&token, 1)) != 0) {
            llama_sampler_free(smpl);
            free(tokens);
            return -1;
        }
    }
    llama_sampler_free(smpl);
    *ttft = first - t0;
    *gen_tps = gen > 1 ? (gen - 1) / ((last - first) / 1e3) : 0;
    *prompt_tps = n / ((first - t0) / 1e3);
    if (prompt_count) {
        *prompt_count = n;
    }
    free(tokens);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 7 || strcmp(argv[6], "--serve") != 0) {
        fprintf(stderr, "usage: %s LIBDIR MODEL THREADS CTX GEN_TOKENS --serve\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[3]);
    int n_ctx = atoi(argv[4]);
    int gen = atoi(argv[5]);
    llama_log_set((void *) quiet, NULL);
    ggml_backend_load_all_from_path(argv[1]);
    llama_backend_init();
    double l0 = now_ms();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.load_mode = 1; /* mmap, as the Java engine loads by default */
    mp.lazy_mode = 0;
    struct llama_model *model = llama_model_load_from_file(argv[2], mp);
    if (!model) {
        printf("ERROR the model did not load\n");
        return 1;
    }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) n_ctx;
    cp.n_batch = 512;
    cp.n_ubatch = 512;
    cp.n_seq_max = 1;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.flash_attn_type = 0;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        printf("ERROR no context\n");
        return 1;
    }
    double load_ms = now_ms() - l0;
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    double w1, w2, w3;
    /* warm-up: a short request */
    request(ctx, vocab, "The quick brown fox", gen < 4 ? gen : 4, 512, &w1, &w2, &w3, NULL);
    printf("READY %.3f\n", load_ms);
    fflush(stdout);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        int n_gen = 0;
        char path[4000];
        if (sscanf(line, "%d %3999s", &n_gen, path) != 2 || n_gen <= 0) {
            printf("FAILED bad request line\n");
            fflush(stdout);
            continue;
        }
        char *text = read_file(path);
        double t, g, pt;
        int n_prompt = 0;
        if (!text || request(ctx, vocab, text, n_gen, 512, &t, &g, &pt, &n_prompt) != 0) {
            printf("FAILED request\n");
        } else {
            printf("DONE %.6f %.6f %.6f %d\n", t, g, pt, n_prompt);
        }
        free(text);
        fflush(stdout);
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
