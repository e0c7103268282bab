package io.github.locallm.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import io.github.locallm.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The Llama-family decoder (Llama, Mistral, Qwen2) written in NDArray operations, with a key/value cache.
 *
 * <p>Computes in F32 whatever the stored type: F16 and BF16 weights are widened in Java while loading.
 * Each forward step runs inside an {@link NDScope}, so every temporary array is freed when the step ends
 * and only the cache entries survive.
 *
 * <p>Not thread-safe: callers serialize forward passes; the weights are read-only once loaded.
 */
final class LlamaDecoder implements AutoCloseable {
    /** Largest piece of one tensor built at once, in F32 bytes; bounds the transient direct memory. */
    static final long PIECE_BYTES = 256L << 20;

    private final CheckpointConfig cfg;
    private final NDManager manager;
    private final NDArray embed;
    private final NDArray norm;
    private final NDArray lmHead;
    private final Layer[] layers;
    private final float[] invFreq;

    private record Layer(NDArray inNorm, NDArray q, NDArray qb, NDArray k, NDArray kb, NDArray v, NDArray vb,
                         NDArray o, NDArray ob, NDArray postNorm, NDArray gate, NDArray gateB, NDArray up,
                         NDArray upB, NDArray down, NDArray downB) {
    }

    /**
     * Keys and values of the positions seen so far, for one generation. Storage starts small and doubles
     * when needed, up to the capacity asked for, so a long allowance costs nothing until it is used.
     */
    static final class KvCache implements AutoCloseable {
        /** Positions allocated at first, when the allowance is larger. */
        static final int INITIAL = 256;

        private final NDManager manager;
        private final NDArray[] keys;
        private final NDArray[] values;
        private final int capacity;
        private final int kvHeads;
        private final int headDim;
        private int allocated;
        private int length;

        private KvCache(NDManager parent, CheckpointConfig c, int capacity) {
            this.manager = parent.newSubManager();
            this.capacity = capacity;
            this.kvHeads = c.numKvHeads();
            this.headDim = c.headDim();
            keys = new NDArray[c.numLayers()];
            values = new NDArray[c.numLayers()];
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
            NDIndex held = new NDIndex(":, :{}, :", length);
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

        @Override
        public void close() {
            manager.close();
        }
    }

    private LlamaDecoder(CheckpointConfig cfg, NDManager manager, NDArray embed, NDArray norm, NDArray lmHead,
                         Layer[] layers) {
        this.cfg = cfg;
        this.manager = manager;
        this.embed = embed;
        this.norm = norm;
        this.lmHead = lmHead;
        this.layers = layers;
        double[] inv = cfg.inverseFrequencies();
        invFreq = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            invFreq[i] = (float) inv[i];
        }
    }

    /**
     * Loads the weights of a checked checkpoint into arrays of the given manager.
     *
     * @param ckpt the checkpoint
     * @param manager owns the weights; closed by {@link #close()}
     * @return the decoder
     */
    static LlamaDecoder load(Checkpoint ckpt, NDManager manager) {
        return load(ckpt, manager, PIECE_BYTES);
    }

    /**
     * Loads the weights, building each tensor from pieces of at most {@code pieceBytes}.
     *
     * @param ckpt the checkpoint
     * @param manager owns the weights
     * @param pieceBytes the largest piece, in F32 bytes
     * @return the decoder
     */
    static LlamaDecoder load(Checkpoint ckpt, NDManager manager, long pieceBytes) {
        CheckpointConfig c = ckpt.config();
        Loader l = new Loader(ckpt, manager, pieceBytes);
        NDArray embed = l.get("model.embed_tokens.weight");
        NDArray lmHead = c.tieWordEmbeddings() ? embed : l.get("lm_head.weight");
        Layer[] layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            layers[i] = new Layer(
                    l.get(p + "input_layernorm.weight"),
                    l.get(p + "self_attn.q_proj.weight"), l.opt(p + "self_attn.q_proj.bias", c.attentionBias()),
                    l.get(p + "self_attn.k_proj.weight"), l.opt(p + "self_attn.k_proj.bias", c.attentionBias()),
                    l.get(p + "self_attn.v_proj.weight"), l.opt(p + "self_attn.v_proj.bias", c.attentionBias()),
                    l.get(p + "self_attn.o_proj.weight"), l.opt(p + "self_attn.o_proj.bias", c.oBias()),
                    l.get(p + "post_attention_layernorm.weight"),
                    l.get(p + "mlp.gate_proj.weight"), l.opt(p + "mlp.gate_proj.bias", c.mlpBias()),
                    l.get(p + "mlp.up_proj.weight"), l.opt(p + "mlp.up_proj.bias", c.mlpBias()),
                    l.get(p + "mlp.down_proj.weight"), l.opt(p + "mlp.down_proj.bias", c.mlpBias()));
        }
        return new LlamaDecoder(c, manager, embed, l.get("model.norm.weight"), lmHead, layers);
    }

    /** Builds weight arrays from the memory-mapped safetensors data. */
    private static final class Loader {
        private final Checkpoint ckpt;
        private final NDManager manager;
        private final long pieceBytes;

        Loader(Checkpoint ckpt, NDManager manager, long pieceBytes) {
            this.ckpt = ckpt;
            this.manager = manager;
            this.pieceBytes = pieceBytes;
        }

        NDArray opt(String name, boolean present) {
            return present ? get(name) : null;
        }

        NDArray get(String name) {
            Checkpoint.Located t = ckpt.tensor(name);
            SafetensorsFile.Entry e = t.entry();
            long[] shape = e.shape();
            long rowElems = 1;
            for (int i = 1; i < shape.length; i++) {
                rowElems *= shape[i];
            }
            long rows = shape.length == 0 ? 1 : shape[0];
            long rowsPerPiece = Math.max(1, Math.min(rows, pieceBytes / 4 / Math.max(1, rowElems)));
            List<NDArray> pieces = new ArrayList<>();
            try {
                for (long r = 0; r < rows; r += rowsPerPiece) {
                    long n = Math.min(rowsPerPiece, rows - r);
                    long elems = n * rowElems;
                    ByteBuffer buf = ByteBuffer.allocateDirect(Math.toIntExact(elems * 4)).order(ByteOrder.nativeOrder());
                    t.file().readF32(e, r * rowElems, buf.asFloatBuffer());
                    long[] pieceShape = shape.clone();
                    if (pieceShape.length > 0) {
                        pieceShape[0] = n;
                    }
                    pieces.add(manager.create(buf, new Shape(pieceShape), DataType.FLOAT32));
                }
            } catch (IOException ex) {
                throw new ModelLoadException("cannot read tensor " + name + " from " + t.file().path()
                        + " of djl model " + ckpt.model() + ": " + ex.getMessage(), ex);
            }
            if (pieces.size() == 1) {
                return pieces.get(0);
            }
            NDArray whole = NDArrays.concat(new NDList(pieces), 0);
            pieces.forEach(NDArray::close);
            return whole;
        }
    }

    /** @return the config the decoder was built from */
    CheckpointConfig config() {
        return cfg;
    }

    /**
     * @param capacity positions the generation may use
     * @return an empty cache owned by the caller
     */
    KvCache newCache(int capacity) {
        return new KvCache(manager, cfg, capacity);
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
        int t = tokens.length;
        int start = cache.length;
        int end = start + t;
        if (t == 0 || end > cache.capacity) {
            throw new IllegalStateException("cache of " + cache.capacity + " positions cannot take " + t
                    + " tokens after " + start);
        }
        cache.reserve(end);
        int nH = cfg.numHeads();
        int nKv = cfg.numKvHeads();
        int hd = cfg.headDim();
        int group = nH / nKv;
        float eps = (float) cfg.rmsNormEps();
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] out;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDManager m = cache.manager;
            long[] ids = new long[t];
            for (int i = 0; i < t; i++) {
                ids[i] = tokens[i];
            }
            NDArray x = embed.get(m.create(ids));
            NDArray[] rope = ropeTables(m, start, t);
            NDArray mask = t > 1 ? causalMask(m, start, t) : null;
            for (int li = 0; li < layers.length; li++) {
                Layer l = layers[li];
                NDArray h = rmsNorm(x, l.inNorm(), eps);
                NDArray q = linear(h, l.q(), l.qb()).reshape(t, nH, hd);
                NDArray k = linear(h, l.k(), l.kb()).reshape(t, nKv, hd);
                NDArray v = linear(h, l.v(), l.vb()).reshape(t, nKv, hd);
                q = applyRope(q, rope[0], rope[1], hd).transpose(1, 0, 2);
                k = applyRope(k, rope[0], rope[1], hd).transpose(1, 0, 2);
                v = v.transpose(1, 0, 2);
                NDIndex fresh = new NDIndex(":, {}:{}, :", start, end);
                cache.keys[li].set(fresh, k);
                cache.values[li].set(fresh, v);
                NDIndex seen = new NDIndex(":, :{}, :", end);
                NDArray keys = cache.keys[li].get(seen);
                NDArray values = cache.values[li].get(seen);
                // Query heads g*group .. g*group+group-1 share key/value head g.
                NDArray scores = q.reshape(nKv, (long) group * t, hd).matMul(keys.transpose(0, 2, 1)).mul(scale);
                if (mask != null) {
                    scores = scores.reshape(nKv, group, t, end).add(mask).reshape(nKv, (long) group * t, end);
                }
                NDArray attn = scores.softmax(-1).matMul(values)
                        .reshape(nH, t, hd).transpose(1, 0, 2).reshape(t, (long) nH * hd);
                x = x.add(linear(attn, l.o(), l.ob()));
                h = rmsNorm(x, l.postNorm(), eps);
                NDArray gate = linear(h, l.gate(), l.gateB());
                NDArray act = gate.mul(Activation.sigmoid(gate)).mul(linear(h, l.up(), l.upB()));
                x = x.add(linear(act, l.down(), l.downB()));
            }
            if (!allLogits && t > 1) {
                x = x.get(new NDIndex("{}:", t - 1));
            }
            x = rmsNorm(x, norm, eps);
            out = linear(x, lmHead, null).toFloatArray();
        }
        cache.length = end;
        return out;
    }

    private static NDArray linear(NDArray x, NDArray w, NDArray b) {
        return (b == null ? Linear.linear(x, w) : Linear.linear(x, w, b)).singletonOrThrow();
    }

    private static NDArray rmsNorm(NDArray x, NDArray w, float eps) {
        NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return x.div(rms).mul(w);
    }

    /** Rotates pairs (i, i + d/2) of each head, the layout Hugging Face Llama checkpoints use. */
    private static NDArray applyRope(NDArray x, NDArray cos, NDArray sin, int hd) {
        NDArray x1 = x.get(new NDIndex("..., :{}", hd / 2));
        NDArray x2 = x.get(new NDIndex("..., {}:", hd / 2));
        NDArray rotated = NDArrays.concat(new NDList(x2.neg(), x1), -1);
        return x.mul(cos).add(rotated.mul(sin));
    }

    /** @return cos and sin of shape [t, 1, headDim] for positions start .. start+t-1 */
    private NDArray[] ropeTables(NDManager m, int start, int t) {
        int hd = cfg.headDim();
        int half = hd / 2;
        float[] cos = new float[t * hd];
        float[] sin = new float[t * hd];
        for (int p = 0; p < t; p++) {
            for (int i = 0; i < half; i++) {
                // Same rounding as the reference implementation: the angle is formed in F32.
                float angle = (float) (start + p) * invFreq[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[p * hd + i] = c;
                cos[p * hd + i + half] = c;
                sin[p * hd + i] = s;
                sin[p * hd + i + half] = s;
            }
        }
        Shape shape = new Shape(t, 1, hd);
        return new NDArray[] {m.create(cos, shape), m.create(sin, shape)};
    }

    private static NDArray causalMask(NDManager m, int start, int t) {
        int len = start + t;
        float[] mask = new float[t * len];
        for (int i = 0; i < t; i++) {
            for (int j = start + i + 1; j < len; j++) {
                mask[i * len + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return m.create(mask, new Shape(t, len));
    }

    /** @return how many arrays the weights' manager and its sub-managers hold, for leak checks */
    int liveArrays() {
        return ((ai.djl.ndarray.BaseNDManager) manager).getManagedArrays().size();
    }

    @Override
    public void close() {
        manager.close();
    }
}
