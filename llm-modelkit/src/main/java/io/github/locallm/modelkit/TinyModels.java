package io.github.locallm.modelkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Seeded random Llama-family models for tests and benchmarks: tiny presets of a few hundred kilobytes and a
 * lazily generated model of about 200 million parameters.
 *
 * <p>Weights are drawn from a seeded {@link Random} per tensor (the same seed and name always give the same
 * values, in any order), scaled so that the layers, not the token embedding, dominate the residual stream:
 * greedy decoding then produces varied text instead of one repeated token. The output rows of the special
 * tokens are scaled down, so a random model practically never emits one (never greedily): generations run
 * to {@code maxTokens} unless a grammar or stop sequence ends them. All presets share one tokenizer
 * trained on a small built-in text. Methods are thread-safe.
 *
 * <pre>{@code
 * CheckpointModel model = TinyModels.gqa();
 * GgufWriter.write(model, dir.resolve("gqa.gguf"), GgufWriter.Quantization.F32);
 * }</pre>
 */
public final class TinyModels {

    /** The seed the presets use. */
    public static final long DEFAULT_SEED = 42;

    /** The built-in training text of the shared tokenizer (English, digits, punctuation, a few non-ASCII words). */
    public static final String CORPUS = String.join("\n",
            "The quick brown fox jumps over the lazy dog. The dog sleeps in the sun, and the fox runs home.",
            "Hello, world! How are you today? I am fine, thank you. What is your name? My name is Tiny.",
            "Local models run on your own machine: no server, no network, just a file and some memory.",
            "A model reads tokens, predicts the next token, and repeats until it stops or runs out of room.",
            "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 2024 3.14 1,000. Lists: apples, pears, plums and cherries.",
            "Java is a language for the virtual machine. Streams, records and threads are part of it.",
            "Café, naïve, résumé, über, jalapeño; 日本語 のテキスト; emoji 🙂 and 🚀 are multi-byte text.",
            "She said \"yes\" and he said 'no'. We're sure they'll agree, isn't it? It's what I've said.",
            "{\"name\": \"tiny\", \"size\": 3, \"ok\": true, \"tags\": [\"a\", \"b\"]}",
            "The weather is nice. The sky is blue, the grass is green, and the sea is calm tonight.");

    private static final int MERGES = 200;
    private static final BpeTokenizer TOKENIZER = BpeTokenizer.train(CORPUS, MERGES);

    /**
     * The fill-in-the-middle tokens of {@link #fim()}, in the order prefix, suffix, middle, then the padding
     * token, spelled as Qwen2.5-Coder and StarCoder2 vocabularies spell them.
     */
    public static final List<String> FIM_TOKENS = List.of("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
            "<|fim_pad|>");

    private static final int GGUF_TOKEN_NORMAL = 1;
    private static final int GGUF_TOKEN_CONTROL = 3;

    private TinyModels() {
    }

    /**
     * Returns a tiny Llama whose vocabulary is the shared one plus the {@link #FIM_TOKENS} at its end, for tests
     * of fill-in-the-middle completion. Write it with {@link #fimMetadata(CheckpointModel)} as the metadata
     * overrides, which mark those tokens as control tokens and name them in the GGUF keys.
     *
     * @return the model
     */
    public static CheckpointModel fim() {
        List<String> tokens = new ArrayList<>(TOKENIZER.tokens());
        tokens.addAll(FIM_TOKENS);
        BpeTokenizer tok = BpeTokenizer.of(tokens, TOKENIZER.merges());
        int[] ids = specialIds(tok);
        LlamaConfig c = new LlamaConfig("llama", tok.size(), 64, 128, 2, 4, 4, 10000.0, 1e-5, 2048, false, false,
                ids[0], ids[1]);
        return random(c, tok, DEFAULT_SEED + 5);
    }

    /**
     * Returns the GGUF metadata that makes a {@link #fim()} model a fill-in-the-middle model: the token types
     * (the special and fill-in-the-middle tokens are control tokens) and the keys
     * {@code tokenizer.ggml.fim_pre_token_id}, {@code fim_suf_token_id}, {@code fim_mid_token_id} and
     * {@code fim_pad_token_id}.
     *
     * @param model a model whose vocabulary holds the {@link #FIM_TOKENS}
     * @return metadata overrides for {@link GgufWriter#write(CheckpointModel, java.nio.file.Path,
     *         GgufWriter.Quantization, Map)}
     */
    public static Map<String, Object> fimMetadata(CheckpointModel model) {
        BpeTokenizer tok = model.tokenizer();
        List<String> texts = tok.tokens();
        int[] types = new int[texts.size()];
        for (int i = 0; i < types.length; i++) {
            types[i] = tok.isSpecial(i) || FIM_TOKENS.contains(texts.get(i)) ? GGUF_TOKEN_CONTROL : GGUF_TOKEN_NORMAL;
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("tokenizer.ggml.token_type", types);
        String[] keys = {"fim_pre", "fim_suf", "fim_mid", "fim_pad"};
        for (int i = 0; i < keys.length; i++) {
            int id = texts.indexOf(FIM_TOKENS.get(i));
            if (id < 0) {
                throw new IllegalArgumentException("the vocabulary has no " + FIM_TOKENS.get(i) + " token");
            }
            meta.put("tokenizer.ggml." + keys[i] + "_token_id", id);
        }
        return meta;
    }

    /** Returns the tokenizer every preset shares. */
    public static BpeTokenizer tokenizer() {
        return TOKENIZER;
    }

    /** Returns a tiny multi-head-attention Llama (2 layers, width 64, 4 heads). */
    public static CheckpointModel llama() {
        return random(config("llama", 4, 4, false, false), TOKENIZER, DEFAULT_SEED);
    }

    /** Returns a tiny grouped-query-attention Llama (4 query heads, 2 key/value heads). */
    public static CheckpointModel gqa() {
        return random(config("llama", 4, 2, false, false), TOKENIZER, DEFAULT_SEED + 1);
    }

    /** Returns a tiny Qwen2 (grouped-query attention with q, k and v biases). */
    public static CheckpointModel qwen2Bias() {
        return random(config("qwen2", 4, 2, false, true), TOKENIZER, DEFAULT_SEED + 2);
    }

    /**
     * Returns a tiny Qwen3 (grouped-query attention, no biases, queries and keys RMS-normalized per head),
     * an architecture llama.cpp supports since 2025.
     */
    public static CheckpointModel qwen3() {
        return random(config("qwen3", 4, 2, false, false), TOKENIZER, DEFAULT_SEED + 4);
    }

    /** Returns a tiny Llama whose output projection is tied to the token embedding. */
    public static CheckpointModel tied() {
        return random(config("llama", 4, 4, true, false), TOKENIZER, DEFAULT_SEED + 3);
    }

    /**
     * Returns the shape of the benchmark model: Llama with grouped-query attention, width 1024, 18 layers,
     * about 200 million parameters.
     */
    public static LlamaConfig benchmarkConfig() {
        int[] ids = specialIds(TOKENIZER);
        return new LlamaConfig("llama", TOKENIZER.size(), 1024, 2816, 18, 16, 4, 10000.0, 1e-5, 4096,
                false, false, ids[0], ids[1]);
    }

    /** Returns the benchmark model, generated lazily tensor by tensor (nothing is held in memory). */
    public static CheckpointModel benchmark() {
        return randomLazy(benchmarkConfig(), TOKENIZER, DEFAULT_SEED);
    }

    private static LlamaConfig config(String arch, int heads, int kvHeads, boolean tied, boolean bias) {
        int[] ids = specialIds(TOKENIZER);
        return new LlamaConfig(arch, TOKENIZER.size(), 64, 128, 2, heads, kvHeads, 10000.0,
                arch.startsWith("qwen") ? 1e-6 : 1e-5, 2048, tied, bias, ids[0], ids[1]);
    }

    private static int[] specialIds(BpeTokenizer tok) {
        return new int[] {tok.tokenId(BpeTokenizer.END_OF_TEXT), tok.tokenId(BpeTokenizer.IM_END)};
    }

    /**
     * Returns an eager model with seeded random weights.
     *
     * @param config    the shape; its vocabulary size must equal the tokenizer's
     * @param tokenizer the tokenizer
     * @param seed      the seed
     * @return the model, with the ChatML template
     */
    public static CheckpointModel random(LlamaConfig config, BpeTokenizer tokenizer, long seed) {
        CheckpointModel lazy = randomLazy(config, tokenizer, seed);
        java.util.Map<String, Tensor> tensors = new java.util.LinkedHashMap<>();
        for (java.util.Map.Entry<String, Tensor> e : lazy.tensors().entrySet()) {
            tensors.put(e.getKey(), e.getValue());
        }
        return CheckpointModel.of(config, tokenizer, tensors, CheckpointModel.CHATML_TEMPLATE);
    }

    /**
     * Returns a lazy model with seeded random weights: each tensor is generated when read.
     *
     * @param config    the shape
     * @param tokenizer the tokenizer
     * @param seed      the seed
     * @return the model, with the ChatML template
     */
    public static CheckpointModel randomLazy(LlamaConfig config, BpeTokenizer tokenizer, long seed) {
        Objects.requireNonNull(config, "config");
        java.util.Map<String, long[]> shapes = CheckpointModel.expectedShapes(config);
        java.util.Collection<Integer> specials = tokenizer.specialTokens().values();
        return CheckpointModel.lazy(config, tokenizer,
                name -> generate(config, name, shapes.get(name), seed, specials), CheckpointModel.CHATML_TEMPLATE);
    }

    private static float[] generate(LlamaConfig c, String name, long[] shape, long seed,
                                    java.util.Collection<Integer> specials) {
        int n = Math.toIntExact(Tensor.elementCount(shape));
        Random random = new Random(seed * 1_000_003L + name.hashCode());
        float[] data = new float[n];
        double h = c.hiddenSize();
        if (name.endsWith("_norm.weight")) {
            // per-head q/k norms: spread enough that the norm visibly reshapes each head
            for (int i = 0; i < n; i++) {
                data[i] = (float) (1.0 + 0.3 * random.nextGaussian());
            }
            return data;
        }
        if (name.endsWith("layernorm.weight")) {
            for (int i = 0; i < n; i++) {
                data[i] = (float) (1.0 + 0.1 * random.nextGaussian());
            }
            return data;
        }
        if (name.equals("model.norm.weight")) {
            // Sets the spread of the logits: a few units, so greedy decoding is decisive but sampling varies.
            double scale = c.tieWordEmbeddings() ? 3.0 / (0.1 * Math.sqrt(h)) : 1.0;
            for (int i = 0; i < n; i++) {
                data[i] = (float) (scale * (1.0 + 0.1 * random.nextGaussian()));
            }
            return data;
        }
        double std;
        if (name.equals("model.embed_tokens.weight")) {
            std = 0.1;
        } else if (name.equals("lm_head.weight")) {
            std = 3.0 / Math.sqrt(h);
        } else if (name.endsWith(".bias")) {
            std = 0.1;
        } else if (name.contains("q_proj") || name.contains("k_proj")) {
            std = 2.0 / Math.sqrt(h);
        } else if (name.contains("down_proj")) {
            std = 1.0 / Math.sqrt(c.intermediateSize());
        } else {
            std = 1.0 / Math.sqrt(h);
        }
        for (int i = 0; i < n; i++) {
            data[i] = (float) (std * random.nextGaussian());
        }
        boolean outputRows = name.equals("lm_head.weight")
                || (c.tieWordEmbeddings() && name.equals("model.embed_tokens.weight"));
        if (outputRows) {
            // Special tokens get near-zero logits, so a random model does not end its turn by chance: tests
            // can rely on maxTokens being reached, and end of generation comes from grammars or stop strings.
            int width = c.hiddenSize();
            for (int id : specials) {
                for (int j = 0; j < width; j++) {
                    data[id * width + j] *= 0.05f;
                }
            }
        }
        return data;
    }
}
