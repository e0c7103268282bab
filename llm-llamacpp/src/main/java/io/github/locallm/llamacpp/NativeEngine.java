package io.github.locallm.llamacpp;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.github.locallm.LlmException;
import io.github.locallm.ModelLoadException;
import io.github.locallm.TokenLogprob;
import io.github.locallm.UnsupportedCapabilityException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One model and its context in the current llama.cpp, driven through its C API: its own native model,
 * context, batch buffers and sampler chain, all freed by {@link #release()}.
 *
 * <p>The KV cache keeps the tokens of the previous request: the next one decodes only what follows their
 * common prefix (chat sessions resend their history). llama.cpp here uses no OpenMP, so any thread may call.
 */
final class NativeEngine implements Engine {

    private static final System.Logger LOG = System.getLogger("io.github.locallm.llamacpp");
    private static final int GGML_TYPE_F32 = 0;
    private static final Map<String, Integer> KV_TYPES = Map.of("f32", 0, "f16", 1, "q4_0", 2, "q4_1", 3,
            "q5_0", 6, "q5_1", 7, "q8_0", 8, "iq4_nl", 20, "bf16", 30);
    private static final Map<String, Integer> POOLING = Map.of("none", 0, "mean", 1, "cls", 2, "last", 3, "rank", 4);
    private static final int POOLING_NONE = 0;
    private static final int POOLING_RANK = 4;

    private final LlamaRuntime rt;
    private final LlamaApi.Llama api;
    private final String spec;
    private final LoadSettings settings;
    private final ReentrantLock lock = new ReentrantLock(true);
    private Pointer model;
    private Pointer ctx;
    private final Pointer vocab;
    private final Pointer memory;
    private final int nVocab;
    private final int nBatch;
    /** The width of an embedding: the model's output dimension. */
    private final int nEmbd;
    /** With RANK pooling, the number of classifier outputs; otherwise 0. */
    private final int nClassifierOutputs;
    private final Map<String, String> details = new LinkedHashMap<>();

    /** Addresses of the context and vocabulary, for the direct-mapped calls of {@link LlamaDirect}. */
    private long ctxAddress;
    private final long vocabAddress;

    // one batch, reused for every decode; its arrays are written through buffer views (no native call per
    // element) and the struct itself is written once, then only its n_tokens field
    private final Memory tokenBuf;
    private final Memory posBuf;
    private final Memory nSeqBuf;
    private final Memory seqPtrBuf;
    private final Memory seqZero;
    private final Memory logitsBuf;
    private final IntBuffer tokenView;
    private final IntBuffer posView;
    private final ByteBuffer logitsView;
    private final LlamaApi.Batch.ByValue batch = new LlamaApi.Batch.ByValue();
    /** token_to_piece's output, grown when a piece is longer. */
    private Memory pieceMem = new Memory(256);

    /** The tokens whose keys and values are in the KV cache (sequence 0), in order: the first cachedLength. */
    private int[] cached = new int[64];
    private int cachedLength;

    private NativeEngine(LlamaRuntime rt, String spec, LoadSettings settings, Pointer model, Pointer ctx) {
        this.rt = rt;
        this.api = rt.llama;
        this.spec = spec;
        this.settings = settings;
        this.model = model;
        this.ctx = ctx;
        this.vocab = api.llama_model_get_vocab(model);
        this.memory = api.llama_get_memory(ctx);
        this.nVocab = api.llama_vocab_n_tokens(vocab);
        this.nBatch = api.llama_n_batch(ctx);
        this.nEmbd = api.llama_model_n_embd_out(model);
        tokenBuf = new Memory(4L * nBatch);
        posBuf = new Memory(4L * nBatch);
        nSeqBuf = new Memory(4L * nBatch);
        seqPtrBuf = new Memory((long) Native.POINTER_SIZE * nBatch);
        seqZero = new Memory(4);
        seqZero.setInt(0, 0);
        logitsBuf = new Memory(nBatch);
        for (int i = 0; i < nBatch; i++) {
            nSeqBuf.setInt(4L * i, 1);
            seqPtrBuf.setPointer((long) Native.POINTER_SIZE * i, seqZero);
        }
        batch.token = tokenBuf;
        batch.embd = null;
        batch.pos = posBuf;
        batch.n_seq_id = nSeqBuf;
        batch.seq_id = seqPtrBuf;
        batch.logits = logitsBuf;
        batch.n_tokens = 0;
        batch.write();
        batch.setAutoWrite(false);
        batch.setAutoRead(false);
        tokenView = tokenBuf.getByteBuffer(0, tokenBuf.size()).order(ByteOrder.nativeOrder()).asIntBuffer();
        posView = posBuf.getByteBuffer(0, posBuf.size()).order(ByteOrder.nativeOrder()).asIntBuffer();
        logitsView = logitsBuf.getByteBuffer(0, logitsBuf.size());
        ctxAddress = Pointer.nativeValue(ctx);
        vocabAddress = Pointer.nativeValue(vocab);
        byte[] desc = new byte[256];
        int n = api.llama_model_desc(model, desc, desc.length);
        details.put("engine", "llamacpp");
        details.put("llama_cpp_build", rt.commit + " (ggml " + rt.ggmlVersion + ")");
        details.put("native_library", rt.dir.toString());
        details.put("native_origin", rt.origin);
        details.put("cpu_variant", rt.cpuVariant);
        details.put("devices", rt.devices);
        details.put("model_description", n > 0 ? new String(desc, 0, Math.min(n, desc.length - 1),
                StandardCharsets.UTF_8) : "");
        if (settings.embedding()) {
            details.put("pooling", settings.pooling());
            details.put("embedding_dimension", Integer.toString(nEmbd));
        }
        if (settings.embedding() && POOLING.get(settings.pooling()) == POOLING_RANK) {
            nClassifierOutputs = api.llama_model_n_cls_out(model);
            List<String> labels = new ArrayList<>();
            for (int i = 0; i < nClassifierOutputs; i++) {
                String label = api.llama_model_cls_label(model, i);
                labels.add(label == null ? Integer.toString(i) : label);
            }
            details.put("classifier_outputs", Integer.toString(nClassifierOutputs));
            details.put("classifier_labels", String.join(",", labels));
        } else {
            nClassifierOutputs = 0;
        }
    }

    /**
     * Loads the model and creates its context.
     *
     * @throws ModelLoadException with llama.cpp's warnings and errors when it refuses
     */
    static NativeEngine open(LlamaRuntime rt, Path path, LoadSettings s, String spec) {
        LlamaApi.Llama api = rt.llama;
        LlamaApi.ModelParams.ByValue mp = api.llama_model_default_params();
        mp.n_gpu_layers = s.gpuLayers();
        if (s.gpuLayers() != 0 && !rt.gpu) {
            // the request cannot be honoured, and the user must hear it
            LOG.log(System.Logger.Level.WARNING, "gpu_layers={0} ignored for {1}: the "
                    + (rt.origin.startsWith("bundled") ? "bundled llama.cpp build" : "llama.cpp build of " + rt.origin)
                    + " runs on the CPU only; give lib_path of a GPU build of the native library to offload layers",
                    Integer.toString(s.gpuLayers()), spec);
        }
        mp.load_mode = s.mmap() ? (s.mlock() ? 3 : 1) : (s.mlock() ? 2 : 0);
        mp.lazy_mode = 0;
        long mark = LlamaRuntime.logMark();
        Pointer model;
        synchronized (NativeEngine.class) {
            model = api.llama_model_load_from_file(path.toString(), mp);
        }
        if (model == null) {
            throw new ModelLoadException("llama.cpp could not load model " + spec + " (" + path + "): "
                    + LlamaRuntime.problemsSince(mark) + ". Check that the file is a complete GGUF model of an"
                    + " architecture llama.cpp " + rt.commit + " supports.");
        }
        LlamaApi.ContextParams.ByValue cp = api.llama_context_default_params();
        cp.n_ctx = s.ctx();
        cp.n_batch = s.batch();
        cp.n_ubatch = s.embedding() ? s.batch() : Math.min(s.batch(), 512);
        cp.n_seq_max = 1;
        cp.n_threads = s.threads();
        cp.n_threads_batch = s.threads();
        int kv = KV_TYPES.get(s.kvType());
        cp.type_k = kv;
        cp.type_v = kv;
        // a quantized V cache needs flash attention; otherwise the plain path, as the jllama engine runs it
        cp.flash_attn_type = kv == GGML_TYPE_F32 || kv == 1 || kv == 30 ? 0 : 1;
        cp.no_perf = 1;
        if (s.embedding()) {
            cp.embeddings = 1;
            cp.pooling_type = POOLING.get(s.pooling());
        }
        Pointer ctx = api.llama_init_from_model(model, cp);
        if (ctx == null) {
            api.llama_model_free(model);
            throw new ModelLoadException("llama.cpp could not create a context for model " + spec + " with " + s
                    + ": " + LlamaRuntime.problemsSince(mark) + ". Try a smaller ctx or batch.");
        }
        return new NativeEngine(rt, spec, s, model, ctx);
    }

    @Override
    public String name() {
        return "llamacpp";
    }

    @Override
    public ReentrantLock lock() {
        return lock;
    }

    @Override
    public Map<String, String> details() {
        return details;
    }

    /** Returns the vocabulary size as llama.cpp loaded it. */
    int vocabSize() {
        return nVocab;
    }

    @Override
    public int[] tokenize(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[utf8.length + 8];
        int n = api.llama_tokenize(vocab, utf8, utf8.length, out, out.length, (byte) 0, (byte) 1);
        if (n < 0) {
            out = new int[-n];
            n = api.llama_tokenize(vocab, utf8, utf8.length, out, out.length, (byte) 0, (byte) 1);
        }
        if (n < 0) {
            throw new LlmException("llama.cpp could not tokenize a text of " + utf8.length + " bytes for model " + spec);
        }
        return Arrays.copyOf(out, n);
    }

    @Override
    public String detokenize(int[] tokens) {
        byte[] buf = new byte[Math.max(64, tokens.length * 16)];
        int n = api.llama_detokenize(vocab, tokens, tokens.length, buf, buf.length, (byte) 0, (byte) 1);
        if (n < 0) {
            buf = new byte[-n];
            n = api.llama_detokenize(vocab, tokens, tokens.length, buf, buf.length, (byte) 0, (byte) 1);
        }
        return new String(buf, 0, Math.max(0, n), StandardCharsets.UTF_8);
    }

    private byte[] piece(int token) {
        int n = LlamaDirect.llama_token_to_piece(vocabAddress, token, Pointer.nativeValue(pieceMem),
                (int) pieceMem.size(), 0, (byte) 0);
        if (n < 0) {
            pieceMem.close();
            pieceMem = new Memory(-(long) n);
            n = LlamaDirect.llama_token_to_piece(vocabAddress, token, Pointer.nativeValue(pieceMem),
                    (int) pieceMem.size(), 0, (byte) 0);
        }
        return n <= 0 ? new byte[0] : pieceMem.getByteArray(0, n);
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes tokens[from, to) at positions from.., asking for logits of the last one only if {@code outputLast}. */
    private void decode(int[] tokens, int from, int to, boolean outputAll, boolean outputLast) {
        int n = to - from;
        for (int i = 0; i < n; i++) {
            tokenView.put(i, tokens[from + i]);
            posView.put(i, from + i);
            logitsView.put(i, (byte) (outputAll || (outputLast && i == n - 1) ? 1 : 0));
        }
        int rc = decodeBatch(n);
        if (rc != 0) {
            forgetCache();
            throw new LlmException("llama.cpp could not decode " + n + " tokens for model " + spec + " (code " + rc
                    + (rc == 1 ? ": no room left in the KV cache; open the model with a larger ctx" : "") + "); "
                    + LlamaRuntime.problemsSince(LlamaRuntime.logMark() - 4));
        }
    }

    /** Decodes the first n entries of the batch arrays (already written). */
    private int decodeBatch(int n) {
        batch.getPointer().setInt(0, n);
        return LlamaDirect.llama_decode(ctxAddress, batch);
    }

    private void forgetCache() {
        api.llama_memory_clear(memory, (byte) 1);
        cachedLength = 0;
    }

    /** Records that tokens[from, to) now follow the cached tokens in the KV cache. */
    private void cache(int[] tokens, int from, int to) {
        int need = cachedLength + (to - from);
        if (need > cached.length) {
            cached = Arrays.copyOf(cached, Math.max(need, cached.length * 2));
        }
        System.arraycopy(tokens, from, cached, cachedLength, to - from);
        cachedLength = need;
    }

    @Override
    public boolean cpuOnly() {
        return !rt.gpu;
    }

    @Override
    public Generation start(Sampling sampling, int maxTokens) {
        if (sampling.jsonSchema() != null) {
            throw new UnsupportedCapabilityException("JSON schema output is not available with engine=llamacpp for"
                    + " model " + spec + "; give a GBNF grammar (llamacpp.grammar) or use engine=jllama",
                    io.github.locallm.Capability.JSON_SCHEMA);
        }
        return new NativeGeneration(sampling);
    }

    /**
     * One generation through the C API: the prompt is decoded in batches after the prefix it shares with the
     * KV cache, then each sampled token is decoded alone; samplers are freed on close.
     */
    private final class NativeGeneration implements Generation {
        private final Sampling sampling;
        private final Samplers samplers;
        private boolean prompted;
        private Consumer<TokenLogprob> logprobs;
        private int topLogprobs;
        private float[] logits;

        NativeGeneration(Sampling sampling) {
            this.sampling = sampling;
            this.samplers = new Samplers(sampling);
        }

        @Override
        public void evaluate(int[] tokens) {
            if (!prompted) {
                prompted = true;
                evaluatePrompt(tokens);
                return;
            }
            int pos = cachedLength;
            for (int i = 0; i < tokens.length; i++) {
                tokenView.put(i, tokens[i]);
                posView.put(i, pos + i);
                logitsView.put(i, (byte) (i == tokens.length - 1 ? 1 : 0));
            }
            int rc = decodeBatch(tokens.length);
            if (rc != 0) {
                forgetCache();
                throw new LlmException("llama.cpp could not decode a generated token for model " + spec + " (code "
                        + rc + "); " + LlamaRuntime.problemsSince(LlamaRuntime.logMark() - 4));
            }
            cache(tokens, 0, tokens.length);
        }

        private void evaluatePrompt(int[] prompt) {
            int keep = 0;
            if (sampling.cachePrompt()) {
                // at least the last prompt token is decoded again: its logits are the first sample's
                int limit = Math.min(cachedLength, prompt.length - 1);
                while (keep < limit && cached[keep] == prompt[keep]) {
                    keep++;
                }
            }
            if (keep < cachedLength) {
                if (api.llama_memory_seq_rm(memory, 0, keep, -1) == 0) {
                    forgetCache();
                    keep = 0;
                } else {
                    cachedLength = keep;
                }
            }
            samplers.acceptPrompt(prompt);
            for (int from = keep; from < prompt.length; from += nBatch) {
                int to = Math.min(prompt.length, from + nBatch);
                decode(prompt, from, to, false, to == prompt.length);
                cache(prompt, from, to);
            }
        }

        @Override
        public int sample() {
            int token = LlamaDirect.llama_sampler_sample(samplers.chainAddress, ctxAddress, -1);
            if (token < 0 || token >= nVocab) {
                throw new LlmException("llama.cpp sampled no valid token for model " + spec + " (" + token
                        + "); the grammar may allow nothing more");
            }
            if (logprobs != null) {
                logprobs.accept(logprob(token));
            }
            return token;
        }

        @Override
        public void reportLogprobs(int top, Consumer<TokenLogprob> to) {
            this.topLogprobs = top;
            this.logprobs = to;
            this.logits = new float[nVocab];
        }

        /** The sampled token's entry, from the logits of the last position (log-softmax in double). */
        private TokenLogprob logprob(int token) {
            long at = LlamaDirect.llama_get_logits_ith(ctxAddress, -1);
            if (at == 0) {
                throw new LlmException("llama.cpp returned no logits for model " + spec);
            }
            new Pointer(at).read(0, logits, 0, nVocab);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : logits) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : logits) {
                sum += Math.exp(v - max);
            }
            double logSum = max + Math.log(sum);
            List<TokenLogprob> alternatives = new ArrayList<>(topLogprobs);
            if (topLogprobs > 0) {
                // the top n by a single pass keeping a small sorted list (n is at most 20)
                int n = Math.min(topLogprobs, nVocab);
                int[] best = new int[n];
                int filled = 0;
                for (int id = 0; id < nVocab; id++) {
                    float v = logits[id];
                    if (filled == n && v <= logits[best[n - 1]]) {
                        continue;
                    }
                    int i = filled < n ? filled++ : n - 1;
                    while (i > 0 && logits[best[i - 1]] < v) {
                        best[i] = best[i - 1];
                        i--;
                    }
                    best[i] = id;
                }
                for (int i = 0; i < filled; i++) {
                    alternatives.add(entry(best[i], logits[best[i]] - logSum, List.of()));
                }
            }
            return entry(token, logits[token] - logSum, alternatives);
        }

        private TokenLogprob entry(int token, double logprob, List<TokenLogprob> alternatives) {
            byte[] bytes = piece(token);
            List<Integer> unsigned = new ArrayList<>(bytes.length);
            for (byte b : bytes) {
                unsigned.add(b & 0xff);
            }
            return new TokenLogprob(new String(bytes, StandardCharsets.UTF_8), Math.min(0, logprob), unsigned,
                    alternatives);
        }

        @Override
        public boolean isEndOfGeneration(int token) {
            return LlamaDirect.llama_vocab_is_eog(vocabAddress, token) != 0;
        }

        @Override
        public byte[] tokenBytes(int token) {
            String markup = sampling.markup().get(token);
            return markup != null ? markup.getBytes(StandardCharsets.UTF_8) : piece(token);
        }

        @Override
        public void close() {
            samplers.free();
        }
    }

    /**
     * The sampler chain of one generation: grammar first (so every later step sees only allowed tokens),
     * penalties, DRY, then either greedy choice (temperature 0) or the truncations, temperature and a seeded draw,
     * in llama.cpp's usual order. Penalty samplers also see the prompt.
     */
    private final class Samplers {
        final Pointer chain;
        final long chainAddress;
        final List<Pointer> seesPrompt = new ArrayList<>();

        Samplers(Sampling s) {
            LlamaApi.SamplerChainParams.ByValue p = new LlamaApi.SamplerChainParams.ByValue();
            p.no_perf = 1;
            chain = api.llama_sampler_chain_init(p);
            chainAddress = Pointer.nativeValue(chain);
            if (s.grammar() != null) {
                add(grammar(s));
            }
            double repeat = s.repeatPenalty() != null ? s.repeatPenalty() : 1.0;
            double freq = s.extra("frequency_penalty", 0);
            double presence = s.extra("presence_penalty", 0);
            int lastN = (int) s.extra("repeat_last_n", 64);
            if (lastN == -1) {
                lastN = settings.ctx();
            }
            if (repeat != 1.0 || freq != 0 || presence != 0) {
                Pointer pen = api.llama_sampler_init_penalties(lastN, (float) repeat, (float) freq, (float) presence);
                add(pen);
                seesPrompt.add(pen);
            }
            double dry = s.extra("dry_multiplier", 0);
            if (dry > 0) {
                String[] breakers = {"\n", ":", "\"", "*"};
                int dryLastN = (int) s.extra("dry_penalty_last_n", -1);
                Pointer d = api.llama_sampler_init_dry(vocab, (float) dry, (float) s.extra("dry_base", 1.75),
                        (int) s.extra("dry_allowed_length", 2), dryLastN == -1 ? settings.ctx() : dryLastN,
                        breakers, breakers.length);
                add(d);
                seesPrompt.add(d);
            }
            double temp = s.temperature() != null ? s.temperature() : 0.8;
            int seed = s.seed() != null ? (int) (long) s.seed() : 0xFFFFFFFF;
            long minKeep = (long) s.extra("min_keep", 0);
            int mirostat = (int) s.extra("mirostat", 0);
            if (temp <= 0) {
                add(api.llama_sampler_init_greedy());
            } else if (mirostat == 1 || mirostat == 2) {
                add(api.llama_sampler_init_temp((float) temp));
                float tau = (float) s.extra("mirostat_tau", 5.0);
                float eta = (float) s.extra("mirostat_eta", 0.1);
                add(mirostat == 1 ? api.llama_sampler_init_mirostat(nVocab, seed, tau, eta, 100)
                        : api.llama_sampler_init_mirostat_v2(seed, tau, eta));
            } else {
                add(api.llama_sampler_init_top_k(s.topK() != null ? s.topK() : 40));
                double typical = s.extra("typical_p", 1.0);
                if (typical < 1.0) {
                    add(api.llama_sampler_init_typical((float) typical, minKeep));
                }
                add(api.llama_sampler_init_top_p((float) (s.topP() != null ? s.topP() : 0.95), minKeep));
                add(api.llama_sampler_init_min_p((float) (s.minP() != null ? s.minP() : 0.05), minKeep));
                double xtcP = s.extra("xtc_probability", 0);
                if (xtcP > 0) {
                    add(api.llama_sampler_init_xtc((float) xtcP, (float) s.extra("xtc_threshold", 0.1), minKeep, seed));
                }
                double range = s.extra("dynatemp_range", 0);
                if (range > 0) {
                    add(api.llama_sampler_init_temp_ext((float) temp, (float) range,
                            (float) s.extra("dynatemp_exponent", 1.0)));
                } else {
                    add(api.llama_sampler_init_temp((float) temp));
                }
                add(api.llama_sampler_init_dist(seed));
            }
        }

        private Pointer grammar(Sampling s) {
            long mark = LlamaRuntime.logMark();
            Pointer g;
            if (s.lazy()) {
                String[] patterns = s.lazyPatterns().toArray(new String[0]);
                int[] tokens = s.lazyTokens();
                g = api.llama_sampler_init_grammar_lazy_patterns(vocab, s.grammar(), "root",
                        patterns.length == 0 ? null : patterns, patterns.length, tokens.length == 0 ? null : tokens,
                        tokens.length);
            } else {
                g = api.llama_sampler_init_grammar(vocab, s.grammar(), "root");
            }
            if (g == null) {
                api.llama_sampler_free(chain);
                throw new IllegalArgumentException("llama.cpp refused the grammar for model " + spec + ": "
                        + LlamaRuntime.problemsSince(mark));
            }
            return g;
        }

        private void add(Pointer sampler) {
            api.llama_sampler_chain_add(chain, sampler);
        }

        void acceptPrompt(int[] prompt) {
            for (Pointer p : seesPrompt) {
                long address = Pointer.nativeValue(p);
                for (int t : prompt) {
                    LlamaDirect.llama_sampler_accept(address, t);
                }
            }
        }

        void free() {
            api.llama_sampler_free(chain);
        }
    }

    // ---------------------------------------------------------------- embeddings

    /**
     * {@inheritDoc}
     *
     * <p>By pooling: LAST, CLS and MEAN give the L2-normalized sentence vector; NONE gives every token's vector
     * (the model's final hidden state, after the output norm) as llama.cpp computes it, not normalized, one after
     * the other ({@code tokens.length * dimension} floats, so the caller pools them as it chooses); RANK gives
     * the classifier head's outputs for the text (a reranker's relevance score or scores), not normalized.
     */
    @Override
    public float[] embed(String text, int[] tokens) {
        forgetCache();
        try {
            decode(tokens, 0, tokens.length, true, true);
            int pooling = api.llama_pooling_type(ctx);
            if (pooling == POOLING_NONE) {
                float[] out = new float[Math.multiplyExact(tokens.length, nEmbd)];
                for (int i = 0; i < tokens.length; i++) {
                    long row = LlamaDirect.llama_get_embeddings_ith(ctxAddress, i);
                    if (row == 0) {
                        throw new LlmException("llama.cpp returned no vector for token " + i + " of " + tokens.length
                                + " for model " + spec);
                    }
                    new Pointer(row).read(0, out, i * nEmbd, nEmbd);
                }
                return out;
            }
            long seq = LlamaDirect.llama_get_embeddings_seq(ctxAddress, 0);
            if (seq == 0) {
                throw new LlmException("llama.cpp returned no embedding for model " + spec);
            }
            if (pooling == POOLING_RANK) {
                return new Pointer(seq).getFloatArray(0, nClassifierOutputs);
            }
            float[] v = new Pointer(seq).getFloatArray(0, nEmbd);
            double norm = 0;
            for (float x : v) {
                norm += (double) x * x;
            }
            norm = Math.sqrt(norm);
            if (norm > 0) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (v[i] / norm);
                }
            }
            return v;
        } finally {
            forgetCache();
        }
    }

    @Override
    public void release() {
        if (ctx != null) {
            api.llama_free(ctx);
            ctx = null;
            ctxAddress = 0;
        }
        if (model != null) {
            api.llama_model_free(model);
            model = null;
        }
        tokenBuf.close();
        posBuf.close();
        nSeqBuf.close();
        seqPtrBuf.close();
        seqZero.close();
        logitsBuf.close();
        pieceMem.close();
    }
}
