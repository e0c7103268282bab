package io.github.locallm.djl;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.github.locallm.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The decoder of every supported family (Llama, Mistral, Qwen2/3, Phi-2, Phi-3, Gemma 2/3, Mixtral,
 * Qwen2-MoE, Qwen3-MoE) in NDArray operations, with a key/value cache.
 *
 * <p>Weights: F16 tensors and F32 embeddings are used in place from the memory-mapped safetensors files
 * (never copied to the Java heap or widened); a BF16 tensor becomes F16 when every value converts exactly,
 * otherwise F32 (PyTorch's JNI in this DJL cannot take BF16 arrays). Projections of one input are fused into
 * one matrix (q/k/v, gate/up), which costs a copy of those tensors. Activations, norms, attention, softmax and
 * the residual stream are F32. Each dtype's projections use the kernel form PyTorch reads fastest for one new
 * position: an F32 projection weight is copied once at load into a contiguous {@code [in, out]} array and
 * applied as a matrix product {@code x W} (PyTorch's F32 {@code mm}); an F16 weight stays {@code [out, in]}
 * and is applied with {@code linear} in PyTorch's F16 CPU kernel (F32 accumulation) on the activations
 * rounded to F16, its result widened back.
 *
 * <p>All native work runs on the model's {@link InferenceThread}: loading, every forward pass, creating and
 * closing caches. Each forward step runs inside an {@link NDScope} there, so every temporary array is freed
 * when the step ends and only cache entries survive.
 *
 * <p>Thread-safe in the sense that calls from any thread are queued on the inference thread; callers still
 * use one cache per generation.
 */
final class LlamaDecoder implements AutoCloseable {
    /** Largest piece of one converted tensor built at once, in bytes; bounds the transient direct memory. */
    static final long PIECE_BYTES = 256L << 20;

    /** What a forward pass returns. */
    enum Output {
        /** The logits of the last position. */
        LAST_LOGITS,
        /** The logits of every new position. */
        ALL_LOGITS,
        /** The final-norm hidden states of every new position ({@code hiddenSize} floats each). */
        HIDDEN
    }

    private final CheckpointConfig cfg;
    private final InferenceThread thread;
    private final NDManager manager;
    private final Weights w;
    private final String weightTypes;
    private int lastStepArrays;
    private volatile boolean countArrays;
    /** Direct buffers that the small per-step inputs are written to; only the inference thread uses them. */
    private final Scratch scratch = new Scratch();

    /**
     * Reusable direct buffers for the inputs a step makes from Java values (token ids, RoPE rotations, masks).
     * An array made from a direct buffer uses it in place, so a buffer is handed out again only at the next step,
     * after the arrays of the step that used it were freed with its scope.
     */
    private static final class Scratch {
        private final List<ByteBuffer> buffers = new ArrayList<>();
        private int next;

        void reset() {
            next = 0;
        }

        /** @return a cleared native-order buffer of exactly {@code bytes} bytes, not handed out since reset */
        ByteBuffer take(long bytes) {
            int size = Math.toIntExact(bytes);
            ByteBuffer b = next < buffers.size() ? buffers.get(next) : null;
            if (b == null || b.capacity() < size) {
                b = ByteBuffer.allocateDirect(Math.max(size, b == null ? 0 : b.capacity() * 2))
                        .order(ByteOrder.nativeOrder());
                if (next < buffers.size()) {
                    buffers.set(next, b);
                } else {
                    buffers.add(b);
                }
            }
            next++;
            b.clear();
            b.limit(size);
            return b;
        }
    }

    /** A norm: weight (already {@code 1 + w} for Gemma) and bias (LayerNorm only). */
    private record Norm(NDArray w, NDArray b) {
    }

    /**
     * A projection: weight in F32 or F16, bias in F32 or null. An F32 weight is held transposed ({@code inOut}:
     * {@code [in, out]}, contiguous) and applied as {@code x W}; an F16 weight stays {@code [out, in]} and is
     * applied as {@code linear(x, W)}, the layout for which each dtype's CPU kernel reads weights fastest.
     */
    private record Proj(NDArray w, NDArray b, boolean inOut) {
        Proj(NDArray w, NDArray b) {
            this(w, b, false);
        }
    }

    /** An MLP: {@code gateUp} holds gate rows then up rows (gated) or is the single input layer (plain). */
    private record Mlp(Proj gateUp, Proj down, int inter, boolean gated) {
    }

    /** A mixture of experts. */
    private record Moe(NDArray router, Mlp[] experts, Mlp shared, NDArray sharedGate) {
    }

    private record Layer(Norm in, Proj qkv, Norm qNorm, Norm kNorm, Proj o, Norm postAttn, Norm preMlp,
                         Norm postMlp, Mlp mlp, Moe moe, int window, boolean local) {
    }

    private record Weights(NDArray embed, Proj lmHead, Norm norm, Layer[] layers) {
    }

    /**
     * Keys and values of the positions seen so far, for one generation. Storage starts small and doubles
     * when needed, up to the capacity asked for, so a long allowance costs nothing until it is used.
     */
    static final class KvCache implements AutoCloseable {
        /** Positions allocated at first, when the allowance is larger. */
        static final int INITIAL = 256;

        private final InferenceThread thread;
        private final NDManager manager;
        private final NDArray[] keys;
        private final NDArray[] values;
        private final int capacity;
        private final int kvHeads;
        private final int headDim;
        private int allocated;
        private int length;
        private boolean closed;

        private KvCache(InferenceThread thread, NDManager parent, CheckpointConfig c, int capacity) {
            this.thread = thread;
            this.manager = parent.newSubManager();
            this.capacity = capacity;
            this.kvHeads = c.numKvHeads;
            this.headDim = c.headDim;
            keys = new NDArray[c.numLayers];
            values = new NDArray[c.numLayers];
            allocate(Math.min(capacity, INITIAL));
        }

        /** Makes room for {@code positions}, copying what is held into larger storage. */
        private void reserve(int positions) {
            if (positions > allocated) {
                allocate(Math.min(capacity, Math.max(positions, allocated * 2)));
            }
        }

        private void allocate(int size) {
            Shape shape = new Shape(kvHeads, size, headDim);
            NDIndex held = new NDIndex().addAllDim().addSliceDim(0, length).addAllDim();
            for (int i = 0; i < keys.length; i++) {
                // Uninitialized storage: positions at or past the length are never read.
                NDArray k = manager.create(shape, DataType.FLOAT32);
                NDArray v = manager.create(shape, DataType.FLOAT32);
                if (length > 0) {
                    try (NDArray oldK = keys[i].get(held); NDArray oldV = values[i].get(held)) {
                        k.set(held, oldK);
                        v.set(held, oldV);
                    }
                    keys[i].close();
                    values[i].close();
                }
                keys[i] = k;
                values[i] = v;
            }
            allocated = size;
        }

        /** Forgets the positions held, keeping the storage, so that the cache can serve another sequence. */
        void clear() {
            length = 0;
        }

        /** @return positions held */
        int length() {
            return length;
        }

        /** @return positions the cache can hold */
        int capacity() {
            return capacity;
        }

        /** @return positions currently allocated */
        int allocated() {
            return allocated;
        }

        /** Frees the cache's arrays on the inference thread; idempotent. */
        @Override
        public void close() {
            if (!closed) {
                closed = true;
                thread.run(manager::close);
            }
        }
    }

    private LlamaDecoder(CheckpointConfig cfg, InferenceThread thread, NDManager manager, Weights w,
                         String weightTypes) {
        this.cfg = cfg;
        this.thread = thread;
        this.manager = manager;
        this.w = w;
        this.weightTypes = weightTypes;
    }

    /**
     * Loads the weights of a checked checkpoint on a new inference thread.
     *
     * @param ckpt the checkpoint
     * @param manager owns the weights; closed by {@link #close()}
     * @return the decoder
     */
    static LlamaDecoder load(Checkpoint ckpt, NDManager manager) {
        return load(ckpt, manager, PIECE_BYTES, true);
    }

    /**
     * Loads the weights, copying every tensor in pieces of at most {@code pieceBytes} instead of using the
     * mapped file in place when {@code inPlace} is false.
     *
     * @param ckpt the checkpoint
     * @param manager owns the weights
     * @param pieceBytes the largest piece of a copied tensor
     * @param inPlace whether F32 and F16 tensors are used from the mapping
     * @return the decoder
     */
    static LlamaDecoder load(Checkpoint ckpt, NDManager manager, long pieceBytes, boolean inPlace) {
        InferenceThread thread = new InferenceThread("djl-inference " + ckpt.dir().getFileName());
        try {
            return thread.call(() -> {
                Loader l = new Loader(ckpt, manager, pieceBytes, inPlace);
                Weights w = l.weights();
                LlamaDecoder d = new LlamaDecoder(ckpt.config(), thread, manager, w, l.types());
                d.warmUp();
                return d;
            });
        } catch (RuntimeException | Error e) {
            thread.close();
            throw e;
        }
    }

    /**
     * Runs one position through the model and forgets it. The engine's first calls after loading can round
     * differently from every later call with the same inputs; after this, equal inputs give equal results
     * (the same text embeds to the same vector in the first call and in any later one).
     */
    private void warmUp() {
        KvCache cache = new KvCache(thread, manager, cfg, 1);
        try {
            step(new int[] {0}, cache, Output.HIDDEN);
        } finally {
            cache.closed = true;
            cache.manager.close();
        }
    }

    /** Builds weight arrays from the memory-mapped safetensors data. */
    private static final class Loader {
        private final Checkpoint ckpt;
        private final CheckpointConfig c;
        private final NDManager manager;
        private final long pieceBytes;
        private final boolean inPlace;
        private final java.util.Map<String, Long> types = new java.util.TreeMap<>();

        Loader(Checkpoint ckpt, NDManager manager, long pieceBytes, boolean inPlace) {
            this.ckpt = ckpt;
            this.c = ckpt.config();
            this.manager = manager;
            this.pieceBytes = pieceBytes;
            this.inPlace = inPlace;
        }

        String types() {
            StringBuilder sb = new StringBuilder();
            types.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
            return sb.toString();
        }

        Weights weights() {
            NDArray embed = matrix("model.embed_tokens.weight");
            boolean phi = c.family == CheckpointConfig.Family.PHI;
            Proj head = c.tieWordEmbeddings ? new Proj(embed, null)
                    : proj(matrix("lm_head.weight"), phi ? vector("lm_head.bias") : null);
            Layer[] layers = new Layer[c.numLayers];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = layer(i);
            }
            return new Weights(embed, head, norm(phi ? "model.final_layernorm" : "model.norm"), layers);
        }

        private Layer layer(int i) {
            String p = "model.layers." + i + ".";
            boolean phi = c.family == CheckpointConfig.Family.PHI;
            Proj qkv;
            if (c.family == CheckpointConfig.Family.PHI3) {
                qkv = proj(matrix(p + "self_attn.qkv_proj.weight"), null);
            } else {
                qkv = proj(fused(p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                        p + "self_attn.v_proj.weight"),
                        c.qkvBias ? fusedVector(p + "self_attn.q_proj.bias", p + "self_attn.k_proj.bias",
                                p + "self_attn.v_proj.bias") : null);
            }
            String o = p + (phi ? "self_attn.dense" : "self_attn.o_proj");
            Proj out = proj(matrix(o + ".weight"), c.oBias ? vector(o + ".bias") : null);
            Norm qNorm = null;
            Norm kNorm = null;
            if (c.qkNorm) {
                qNorm = norm(p + (phi ? "self_attn.q_layernorm" : "self_attn.q_norm"));
                kNorm = norm(p + (phi ? "self_attn.k_layernorm" : "self_attn.k_norm"));
            }
            Norm postAttn = null;
            Norm preMlp = null;
            Norm postMlp = null;
            if (c.sandwichNorms) {
                postAttn = norm(p + "post_attention_layernorm");
                preMlp = norm(p + "pre_feedforward_layernorm");
                postMlp = norm(p + "post_feedforward_layernorm");
            } else if (!phi) {
                preMlp = norm(p + "post_attention_layernorm");
            }
            Mlp mlp = null;
            Moe moe = null;
            if (phi) {
                mlp = new Mlp(proj(matrix(p + "mlp.fc1.weight"), vector(p + "mlp.fc1.bias")),
                        proj(matrix(p + "mlp.fc2.weight"), vector(p + "mlp.fc2.bias")), c.intermediateSize, false);
            } else if (c.sparse[i] && c.family == CheckpointConfig.Family.MIXTRAL) {
                String mp = p + "block_sparse_moe.";
                Mlp[] experts = new Mlp[c.numExperts];
                for (int x = 0; x < experts.length; x++) {
                    String ep = mp + "experts." + x + ".";
                    experts[x] = new Mlp(proj(fused(ep + "w1.weight", ep + "w3.weight"), null),
                            proj(matrix(ep + "w2.weight"), null), c.expertIntermediate, true);
                }
                moe = new Moe(vector(mp + "gate.weight"), experts, null, null);
            } else if (c.sparse[i]) {
                String mp = p + "mlp.";
                Mlp[] experts = new Mlp[c.numExperts];
                for (int x = 0; x < experts.length; x++) {
                    experts[x] = gated(mp + "experts." + x + ".", c.expertIntermediate, false);
                }
                Mlp shared = null;
                NDArray sharedGate = null;
                if (c.sharedExpertIntermediate > 0) {
                    shared = gated(mp + "shared_expert.", c.sharedExpertIntermediate, false);
                    sharedGate = vector(mp + "shared_expert_gate.weight");
                }
                moe = new Moe(vector(mp + "gate.weight"), experts, shared, sharedGate);
            } else if (c.family == CheckpointConfig.Family.PHI3) {
                mlp = new Mlp(proj(matrix(p + "mlp.gate_up_proj.weight"), null),
                        proj(matrix(p + "mlp.down_proj.weight"), null), c.intermediateSize, true);
            } else {
                mlp = gated(p + "mlp.", c.intermediateSize, c.mlpBias);
            }
            boolean local = c.family == CheckpointConfig.Family.GEMMA3 && c.windows[i] > 0;
            return new Layer(norm(p + "input_layernorm"), qkv, qNorm, kNorm, out, postAttn, preMlp, postMlp, mlp, moe,
                    c.windows[i], local);
        }

        private Mlp gated(String p, int inter, boolean bias) {
            return new Mlp(proj(fused(p + "gate_proj.weight", p + "up_proj.weight"),
                    bias ? fusedVector(p + "gate_proj.bias", p + "up_proj.bias") : null),
                    proj(matrix(p + "down_proj.weight"), bias ? vector(p + "down_proj.bias") : null), inter, true);
        }

        private Norm norm(String name) {
            NDArray weight = vector(name + ".weight");
            if (c.normKind == CheckpointConfig.NormKind.RMS_PLUS_ONE) {
                NDArray plusOne = weight.add(1f);
                weight.close();
                weight = plusOne;
            }
            return new Norm(weight, c.normKind == CheckpointConfig.NormKind.LAYER ? vector(name + ".bias") : null);
        }

        /**
         * A projection of an {@code [out, in]} weight: F32 weights are copied once into a contiguous
         * {@code [in, out]} array (the transposed view is flattened, which copies it in that order) and the
         * original is freed; other weights are kept as they are.
         */
        private Proj proj(NDArray w, NDArray b) {
            if (w.getDataType() != DataType.FLOAT32) {
                return new Proj(w, b, false);
            }
            Shape s = w.getShape();
            NDArray t;
            try (NDArray view = w.transpose(); NDArray flat = view.flatten()) {
                t = flat.reshape(s.get(1), s.get(0));
            }
            w.close();
            count("F32 transposed", s.size());
            return new Proj(t, b, true);
        }

        /** Several matrices stacked by rows into one, in one element type. */
        private NDArray fused(String... names) {
            List<NDArray> parts = new ArrayList<>();
            boolean anyF32 = false;
            for (String n : names) {
                NDArray a = matrix(n);
                anyF32 |= a.getDataType() == DataType.FLOAT32;
                parts.add(a);
            }
            if (anyF32) {
                for (int i = 0; i < parts.size(); i++) {
                    if (parts.get(i).getDataType() != DataType.FLOAT32) {
                        NDArray wide = parts.get(i).toType(DataType.FLOAT32, false);
                        parts.get(i).close();
                        parts.set(i, wide);
                    }
                }
            }
            NDArray whole = NDArrays.concat(new NDList(parts), 0);
            parts.forEach(NDArray::close);
            return whole;
        }

        private NDArray fusedVector(String... names) {
            List<NDArray> parts = new ArrayList<>();
            for (String n : names) {
                parts.add(vector(n));
            }
            NDArray whole = NDArrays.concat(new NDList(parts), 0);
            parts.forEach(NDArray::close);
            return whole;
        }

        /** A vector or small matrix, always F32. */
        private NDArray vector(String name) {
            return widened(name);
        }

        /** A weight matrix: in place when F32 or F16, converted when BF16. */
        private NDArray matrix(String name) {
            Checkpoint.Located t = ckpt.tensor(name);
            SafetensorsFile.Entry e = t.entry();
            Shape shape = new Shape(e.shape());
            try {
                switch (e.dtype()) {
                    case F32, F16: {
                        ByteBuffer mapped = inPlace ? t.file().map(e) : null;
                        if (mapped != null) {
                            count(e.dtypeName() + " mapped", e.elements());
                            return manager.create(mapped, shape,
                                    e.dtype() == SafetensorsFile.DType.F32 ? DataType.FLOAT32 : DataType.FLOAT16);
                        }
                        if (e.dtype() == SafetensorsFile.DType.F32) {
                            return widened(name);
                        }
                        count("F16 copied", e.elements());
                        return pieces(name, e, 2, (buf, first) -> t.file().readRaw(e, first, buf), DataType.FLOAT16);
                    }
                    case BF16: {
                        if (!t.file().bf16FitsHalf(e)) {
                            return widened(name);
                        }
                        count("BF16 as F16", e.elements());
                        return pieces(name, e, 2, (buf, first) -> t.file().readBf16AsHalf(e, buf.asShortBuffer()),
                                DataType.FLOAT16);
                    }
                    default:
                        throw new AssertionError(e.dtype());
                }
            } catch (IOException ex) {
                throw cannotRead(name, t, ex);
            }
        }

        private NDArray widened(String name) {
            Checkpoint.Located t = ckpt.tensor(name);
            SafetensorsFile.Entry e = t.entry();
            count(e.dtypeName() + (e.dtype() == SafetensorsFile.DType.F32 ? " copied" : " as F32"), e.elements());
            try {
                return pieces(name, e, 4, (buf, first) -> t.file().readF32(e, first, buf.asFloatBuffer()),
                        DataType.FLOAT32);
            } catch (IOException ex) {
                throw cannotRead(name, t, ex);
            }
        }

        private ModelLoadException cannotRead(String name, Checkpoint.Located t, IOException ex) {
            return new ModelLoadException("cannot read tensor " + name + " from " + t.file().path()
                    + " of djl model " + ckpt.model() + ": " + ex.getMessage(), ex);
        }

        private void count(String kind, long elements) {
            types.merge(kind, elements, Long::sum);
        }

        /** Fills a piece buffer from the file: {@code first} is the first element of the piece. */
        private interface PieceReader {
            void read(ByteBuffer piece, long first) throws IOException;
        }

        private NDArray pieces(String name, SafetensorsFile.Entry e, int elementBytes, PieceReader reader,
                               DataType type) throws IOException {
            long[] shape = e.shape();
            long rowElems = 1;
            for (int i = 1; i < shape.length; i++) {
                rowElems *= shape[i];
            }
            long rows = shape.length == 0 ? 1 : shape[0];
            long rowsPerPiece = Math.max(1, Math.min(rows, pieceBytes / elementBytes / Math.max(1, rowElems)));
            List<NDArray> parts = new ArrayList<>();
            for (long r = 0; r < rows; r += rowsPerPiece) {
                long n = Math.min(rowsPerPiece, rows - r);
                ByteBuffer buf = ByteBuffer.allocateDirect(Math.toIntExact(n * rowElems * elementBytes))
                        .order(ByteOrder.nativeOrder());
                ByteBuffer view = buf.duplicate().order(ByteOrder.nativeOrder());
                reader.read(view, r * rowElems);
                long[] pieceShape = shape.clone();
                if (pieceShape.length > 0) {
                    pieceShape[0] = n;
                }
                parts.add(manager.create(buf, new Shape(pieceShape), type));
            }
            if (parts.size() == 1) {
                return parts.get(0);
            }
            NDArray whole = NDArrays.concat(new NDList(parts), 0);
            parts.forEach(NDArray::close);
            return whole;
        }
    }

    /** @return the config the decoder was built from */
    CheckpointConfig config() {
        return cfg;
    }

    /** @return how the weights are held, such as {@code F16 mapped 1234, F32 copied 56} (elements) */
    String weightTypes() {
        return weightTypes;
    }

    /**
     * @param capacity positions the generation may use
     * @return an empty cache owned by the caller
     */
    KvCache newCache(int capacity) {
        return thread.call(() -> new KvCache(thread, manager, cfg, capacity));
    }

    /**
     * Runs the decoder over new tokens, appending their keys and values to the cache.
     *
     * @param tokens the new tokens, at least one; ids below the vocabulary size
     * @param cache the cache of this generation, with room for the tokens
     * @param allLogits whether to return the logits of every new position or only of the last one
     * @return logits, {@code vocabSize} floats per returned position
     */
    float[] forward(int[] tokens, KvCache cache, boolean allLogits) {
        return forward(tokens, cache, allLogits ? Output.ALL_LOGITS : Output.LAST_LOGITS);
    }

    /**
     * Runs the decoder over new tokens, appending their keys and values to the cache.
     *
     * @param tokens the new tokens, at least one; ids below the vocabulary size
     * @param cache the cache of this generation, with room for the tokens
     * @param output what to return
     * @return logits ({@code vocabSize} floats per returned position) or hidden states ({@code hiddenSize}
     *     floats per new position)
     */
    float[] forward(int[] tokens, KvCache cache, Output output) {
        int t = tokens.length;
        if (t == 0 || cache.length + t > cache.capacity) {
            throw new IllegalStateException("cache of " + cache.capacity + " positions cannot take " + t
                    + " tokens after " + cache.length);
        }
        for (int id : tokens) {
            if (id < 0 || id >= cfg.vocabSize) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of "
                        + cfg.vocabSize);
            }
        }
        return thread.call(() -> step(tokens, cache, output));
    }

    private float[] step(int[] tokens, KvCache cache, Output output) {
        int t = tokens.length;
        int start = cache.length;
        int end = start + t;
        cache.reserve(end);
        float[] out;
        NDManager m = cache.manager;
        // counting walks every array of the model: only when a test asked for it
        int before = countArrays ? ((BaseNDManager) manager).getManagedArrays().size() : 0;
        scratch.reset();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            ByteBuffer idBuf = scratch.take((long) t * Long.BYTES);
            for (int i = 0; i < t; i++) {
                idBuf.putLong(i * Long.BYTES, tokens[i]);
            }
            NDArray x = f32(w.embed().get(m.create(idBuf, new Shape(t), DataType.INT64)));
            if (cfg.embedScale) {
                x = x.mul((float) Math.sqrt(cfg.hiddenSize));
            }
            Rope global = rope(m, false, start, t);
            Rope local = cfg.family == CheckpointConfig.Family.GEMMA3 ? rope(m, true, start, t) : global;
            java.util.Map<Integer, NDArray> masks = new java.util.HashMap<>();
            for (int li = 0; li < w.layers().length; li++) {
                Layer l = w.layers()[li];
                NDArray h = norm(x, l.in());
                NDArray a = attention(h, l, li, cache, start, t, l.local() ? local : global, masks, m);
                if (cfg.parallelBlock) {
                    x = x.add(a).add(mlp(h, l.mlp(), t));
                    continue;
                }
                if (l.postAttn() != null) {
                    a = norm(a, l.postAttn());
                }
                x = x.add(a);
                h = norm(x, l.preMlp());
                NDArray f = l.moe() != null ? moe(h, l.moe(), m, t) : mlp(h, l.mlp(), t);
                if (l.postMlp() != null) {
                    f = norm(f, l.postMlp());
                }
                x = x.add(f);
            }
            if (output == Output.LAST_LOGITS && t > 1) {
                x = x.get(new NDIndex().addSliceDim(t - 1, t));
            }
            x = norm(x, w.norm());
            if (output == Output.HIDDEN) {
                out = x.toFloatArray();
            } else {
                NDArray logits = linear(x, w.lmHead(), output == Output.ALL_LOGITS ? t : 1);
                if (cfg.finalSoftcap > 0) {
                    float cap = (float) cfg.finalSoftcap;
                    logits = logits.div(cap).tanh().mul(cap);
                }
                out = logits.toFloatArray();
            }
            if (countArrays) {
                lastStepArrays = ((BaseNDManager) manager).getManagedArrays().size() - before;
            }
        }
        cache.length = end;
        return out;
    }

    private NDArray attention(NDArray h, Layer l, int li, KvCache cache, int start, int t, Rope rope,
                              java.util.Map<Integer, NDArray> masks, NDManager m) {
        int nH = cfg.numHeads;
        int nKv = cfg.numKvHeads;
        int hd = cfg.headDim;
        int group = nH / nKv;
        int end = start + t;
        NDArray qkv = linear(h, l.qkv(), t).reshape(t, nH + 2L * nKv, hd);
        NDArray q;
        NDArray k;
        NDArray v;
        if (l.qNorm() == null) {
            NDList parts = qkv.split(new long[] {nH + nKv}, 1);
            NDList qk = rope.apply(parts.get(0)).split(new long[] {nH}, 1);
            q = qk.get(0);
            k = qk.get(1);
            v = parts.get(1);
        } else {
            NDList parts = qkv.split(new long[] {nH, nH + nKv}, 1);
            q = rope.apply(norm(parts.get(0), l.qNorm()));
            k = rope.apply(norm(parts.get(1), l.kNorm()));
            v = parts.get(2);
        }
        NDIndex fresh = new NDIndex().addAllDim().addSliceDim(start, end).addAllDim();
        cache.keys[li].set(fresh, k.transpose(1, 0, 2));
        cache.values[li].set(fresh, v.transpose(1, 0, 2));
        // One new position under a window needs only the window's keys, and then no mask.
        int from = l.window() > 0 && t == 1 ? Math.max(0, end - l.window()) : 0;
        int len = end - from;
        NDIndex seen = new NDIndex().addAllDim().addSliceDim(from, end).addAllDim();
        NDArray keys = cache.keys[li].get(seen);
        NDArray values = cache.values[li].get(seen);
        // Query heads g*group .. g*group+group-1 share key/value head g; one position needs no transpose.
        NDArray scores = (t == 1 ? q : q.transpose(1, 0, 2)).reshape(nKv, (long) group * t, hd)
                .matMul(keys.transpose(0, 2, 1)).mul((float) cfg.attentionScale);
        if (cfg.attnSoftcap > 0) {
            float cap = (float) cfg.attnSoftcap;
            scores = scores.div(cap).tanh().mul(cap);
        }
        if (t > 1) {
            NDArray mask = masks.computeIfAbsent(l.window(), win -> mask(m, start, t, win));
            scores = scores.reshape(nKv, group, t, len).add(mask).reshape(nKv, (long) group * t, len);
        }
        NDArray attn = scores.softmax(-1).matMul(values);
        attn = t == 1 ? attn.reshape(1, (long) nH * hd) : attn.reshape(nH, t, hd).transpose(1, 0, 2)
                .reshape(t, (long) nH * hd);
        return linear(attn, l.o(), t);
    }

    private NDArray mlp(NDArray h, Mlp mlp, int rows) {
        NDArray a = linear(h, mlp.gateUp(), rows);
        if (mlp.gated()) {
            NDList gu = a.split(new long[] {mlp.inter()}, 1);
            a = activation(gu.get(0)).mul(gu.get(1));
        } else {
            a = activation(a);
        }
        return linear(a, mlp.down(), rows);
    }

    private NDArray activation(NDArray x) {
        switch (cfg.activation) {
            case "silu":
                return x.mul(ai.djl.nn.Activation.sigmoid(x));
            case "gelu":
                return ai.djl.nn.Activation.gelu(x);
            default: {
                // The tanh approximation: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
                NDArray inner = x.mul(x.square().mul(0.044715f).add(1f)).mul((float) Math.sqrt(2 / Math.PI));
                return x.mul(inner.tanh().add(1f)).mul(0.5f);
            }
        }
    }

    private NDArray moe(NDArray h, Moe moe, NDManager m, int t) {
        int experts = moe.experts().length;
        int k = cfg.expertsPerToken;
        float[] logits = h.matMul(moe.router().transpose()).toFloatArray();
        // Per token: softmax over all experts, the k largest, renormalised when the config says so.
        List<List<int[]>> routed = new ArrayList<>();
        for (int e = 0; e < experts; e++) {
            routed.add(null);
        }
        float[][] weights = new float[t][experts];
        for (int i = 0; i < t; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits[i * experts + e]);
            }
            double[] p = new double[experts];
            double sum = 0;
            for (int e = 0; e < experts; e++) {
                p[e] = Math.exp(logits[i * experts + e] - max);
                sum += p[e];
            }
            int[] top = new int[k];
            boolean[] taken = new boolean[experts];
            double topSum = 0;
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if (!taken[e] && (best < 0 || p[e] > p[best])) {
                        best = e;
                    }
                }
                taken[best] = true;
                top[j] = best;
                topSum += p[best] / sum;
            }
            for (int e : top) {
                double wgt = p[e] / sum;
                weights[i][e] = (float) (cfg.normTopK ? wgt / topSum : wgt);
                if (routed.get(e) == null) {
                    routed.set(e, new ArrayList<>());
                }
                routed.get(e).add(new int[] {i});
            }
        }
        NDArray out = null;
        for (int e = 0; e < experts; e++) {
            List<int[]> rows = routed.get(e);
            if (rows == null) {
                continue;
            }
            NDArray y;
            if (t == 1) {
                y = mlp(h, moe.experts()[e], 1).mul(weights[0][e]);
            } else {
                int n = rows.size();
                long[] idx = new long[n];
                float[] scatter = new float[t * n];
                for (int j = 0; j < n; j++) {
                    int row = rows.get(j)[0];
                    idx[j] = row;
                    scatter[row * n + j] = weights[row][e];
                }
                NDArray picked = h.get(m.create(idx));
                y = m.create(scatter, new Shape(t, n)).matMul(mlp(picked, moe.experts()[e], n));
            }
            out = out == null ? y : out.add(y);
        }
        if (moe.shared() != null) {
            NDArray gate = ai.djl.nn.Activation.sigmoid(h.matMul(moe.sharedGate().transpose()));
            out = out.add(mlp(h, moe.shared(), t).mul(gate));
        }
        return out;
    }

    private static NDArray f32(NDArray x) {
        return x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
    }

    /** @param rows the rows of {@code x}, known to the caller (asking the array is a native call) */
    private static NDArray linear(NDArray x, Proj p, int rows) {
        NDArray y;
        if (p.inOut()) {
            // F32: x [rows, in] times the contiguous [in, out] weight, one matrix product. Called directly:
            // NDArray.matMul first asks the new activation for its shape, one more native call per product.
            y = x instanceof PtNDArray px && p.w() instanceof PtNDArray pw ? JniUtils.matmul(px, pw)
                    : x.matMul(p.w());
            return p.b() == null ? y : y.add(p.b());
        }
        if (p.w().getDataType() == DataType.FLOAT16) {
            if (rows == 1) {
                // One row: PyTorch's F16 matrix-vector kernel reads half the bytes and accumulates in F32.
                y = Linear.linear(x.toType(DataType.FLOAT16, false), p.w()).singletonOrThrow()
                        .toType(DataType.FLOAT32, false);
            } else {
                // Several rows: its F16 matrix-matrix product on CPU is slower than widening the weight and
                // multiplying in F32; the widened copy is freed at once.
                try (NDArray wide = p.w().toType(DataType.FLOAT32, false)) {
                    y = Linear.linear(x, wide).singletonOrThrow();
                }
            }
            return p.b() == null ? y : y.add(p.b());
        }
        return (p.b() == null ? Linear.linear(x, p.w()) : Linear.linear(x, p.w(), p.b())).singletonOrThrow();
    }

    private NDArray norm(NDArray x, Norm n) {
        float eps = (float) cfg.normEps;
        if (cfg.normKind == CheckpointConfig.NormKind.LAYER) {
            long width = x.getShape().get(x.getShape().dimension() - 1);
            return ai.djl.nn.norm.LayerNorm.layerNorm(x, new Shape(width), n.w(), n.b(), eps).singletonOrThrow();
        }
        NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return x.div(rms).mul(n.w());
    }

    /** Most new positions for which RoPE is one product with a rotation matrix per position. */
    static final int ROTATION_MATRIX_POSITIONS = 4;

    /**
     * Cos and sin of the new positions, and how to rotate with them: for a few positions (decoding) one
     * {@code headDim x headDim} rotation matrix per position, applied with a single product; otherwise the
     * element-wise form.
     */
    private final class Rope {
        private final NDArray cos;
        private final NDArray sin;
        private final NDArray rotation;

        Rope(NDArray cos, NDArray sin) {
            this.cos = cos;
            this.sin = sin;
            this.rotation = null;
        }

        Rope(NDArray rotation) {
            this.cos = null;
            this.sin = null;
            this.rotation = rotation;
        }

        /**
         * Rotates pairs (i, i + rot/2) of the first {@code rot} dimensions of each head, the layout Hugging
         * Face checkpoints use; {@code sin} holds {@code -sin} in its first half, so that
         * {@code x * cos + swap(x) * sin} is the rotation.
         */
        NDArray apply(NDArray x) {
            if (rotation != null) {
                // [t, heads, hd] x [t, hd, hd]: each position's heads times that position's rotation
                return x.matMul(rotation);
            }
            int hd = cfg.headDim;
            int rot = cfg.rotaryDim;
            if (rot == hd) {
                NDList halves = x.split(new long[] {hd / 2}, 2);
                NDArray swapped = NDArrays.concat(new NDList(halves.get(1), halves.get(0)), 2);
                return x.mul(cos).add(swapped.mul(sin));
            }
            NDList parts = x.split(new long[] {rot / 2, rot}, 2);
            NDArray rotated = NDArrays.concat(new NDList(parts.get(0), parts.get(1)), 2).mul(cos)
                    .add(NDArrays.concat(new NDList(parts.get(1), parts.get(0)), 2).mul(sin));
            return NDArrays.concat(new NDList(rotated, parts.get(2)), 2);
        }
    }

    /** @return cos and signed sin of shape [t, 1, rotaryDim] for positions start .. start+t-1 */
    private Rope rope(NDManager m, boolean local, int start, int t) {
        int rot = cfg.rotaryDim;
        int half = rot / 2;
        double[] inv = cfg.inverseFrequencies(local, start + t);
        float scale = (float) cfg.ropeAttentionFactor(local);
        if (t <= ROTATION_MATRIX_POSITIONS) {
            return new Rope(rotation(m, inv, scale, start, t));
        }
        float[] cos = new float[t * rot];
        float[] sin = new float[t * rot];
        for (int p = 0; p < t; p++) {
            for (int i = 0; i < half; i++) {
                // As the reference implementations do: F32 frequencies, the angle formed in F32.
                float angle = (float) (start + p) * (float) inv[i];
                float c = (float) Math.cos(angle) * scale;
                float s = (float) Math.sin(angle) * scale;
                cos[p * rot + i] = c;
                cos[p * rot + i + half] = c;
                sin[p * rot + i] = -s;
                sin[p * rot + i + half] = s;
            }
        }
        Shape shape = new Shape(t, 1, rot);
        return new Rope(m.create(cos, shape), m.create(sin, shape));
    }

    /**
     * The rotation of each new position as a matrix R with {@code y = x R}: for a rotated pair (i, i + rot/2),
     * {@code y_i = x_i cos - x_(i+rot/2) sin} and {@code y_(i+rot/2) = x_(i+rot/2) cos + x_i sin}, cos and sin
     * scaled by the attention factor; dimensions past the rotary ones pass unchanged.
     */
    private NDArray rotation(NDManager m, double[] inv, float scale, int start, int t) {
        int hd = cfg.headDim;
        int half = cfg.rotaryDim / 2;
        int size = t * hd * hd;
        ByteBuffer b = scratch.take((long) size * Float.BYTES);
        java.nio.FloatBuffer r = b.asFloatBuffer();
        for (int i = 0; i < size; i++) {
            r.put(i, 0f);
        }
        for (int p = 0; p < t; p++) {
            int base = p * hd * hd;
            for (int i = 0; i < half; i++) {
                // As the reference implementations do: F32 frequencies, the angle formed in F32.
                float angle = (float) (start + p) * (float) inv[i];
                float c = (float) Math.cos(angle) * scale;
                float s = (float) Math.sin(angle) * scale;
                int j = i + half;
                r.put(base + i * hd + i, c);
                r.put(base + j * hd + i, -s);
                r.put(base + j * hd + j, c);
                r.put(base + i * hd + j, s);
            }
            for (int i = 2 * half; i < hd; i++) {
                r.put(base + i * hd + i, 1f);
            }
        }
        return m.create(b, new Shape(t, hd, hd), DataType.FLOAT32);
    }

    /** Causal mask of t new positions after {@code start}, limited to {@code window} positions when set. */
    private static NDArray mask(NDManager m, int start, int t, int window) {
        int len = start + t;
        float[] mask = new float[t * len];
        for (int i = 0; i < t; i++) {
            int pos = start + i;
            for (int j = 0; j < len; j++) {
                if (j > pos || (window > 0 && pos - j >= window)) {
                    mask[i * len + j] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        return m.create(mask, new Shape(t, len));
    }

    /**
     * @return arrays created by the last forward step (each one native call or more), counted only after
     *     {@link #countStepArrays} switched counting on
     */
    int lastStepArrays() {
        return thread.call(() -> lastStepArrays);
    }

    /** Switches counting of the arrays each step creates on or off; off by default, as it costs time. */
    void countStepArrays(boolean on) {
        countArrays = on;
    }

    /** Frees the weights on the inference thread and ends it; idempotent. */
    @Override
    public void close() {
        try {
            thread.run(manager::close);
        } catch (IllegalStateException e) {
            // Already closed.
        } finally {
            thread.close();
        }
    }
}
