package io.github.locallm.modelkit;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A plain-Java, double-precision forward pass of a {@link CheckpointModel} with Hugging Face semantics
 * (RMSNorm, rotate-half RoPE, causal grouped-query attention, SwiGLU, optional q/k/v biases, Qwen3's
 * per-head q/k RMSNorm, tied or untied output), the reference the backends and the model files are checked against.
 *
 * <p>The weights can be seen as a stored file holds them ({@link Arithmetic#F16}, {@link Arithmetic#BF16}),
 * or as llama.cpp computes on a Q8_0 GGUF ({@link Arithmetic#Q8_0}: 8-bit weights and activations in blocks
 * of 32, F16 attention cache); everything else is computed in double precision. RoPE uses the config's
 * {@code ropeTheta} unless the caller gives scaled inverse frequencies (for example Llama 3 scaling).
 *
 * <p>Instances are immutable and thread-safe: each call keeps its own key/value cache.
 *
 * <pre>{@code
 * CheckpointModel model = TinyModels.llama();
 * ReferenceForward reference = new ReferenceForward(model, ReferenceForward.Arithmetic.F32);
 * double[][] logits = reference.logits(model.tokenizer().encode("Hello"));
 * int[] next = reference.greedy(model.tokenizer().encode("Hello"), 8);
 * }</pre>
 */
public final class ReferenceForward {

    /** How the weights are rounded and which low-precision steps are reproduced. */
    public enum Arithmetic {
        /** Weights as given, arithmetic in double precision. */
        F32,
        /** Every tensor rounded to IEEE half precision, as an F16 checkpoint stores it. */
        F16,
        /** Every tensor rounded to bfloat16, as a BF16 checkpoint stores it. */
        BF16,
        /**
         * llama.cpp on a Q8_0 GGUF: matrices whose rows are a multiple of 32 long in Q8_0, inputs of those
         * products quantized to Q8_0, queries, keys, values and attention weights rounded to F16.
         */
        Q8_0
    }

    /**
     * The outcome of a greedy decode.
     *
     * @param tokens    generated ids, the stop token excluded
     * @param stopped   whether the stop token was produced before the limit
     * @param minMargin smallest gap between the best and the second-best logit over the decisions taken
     */
    public record Decoded(int[] tokens, boolean stopped, double minMargin) {
    }

    private static final int Q8_BLOCK = 32;

    private final LlamaConfig c;
    private final Arithmetic arithmetic;
    private final Map<String, float[]> w = new HashMap<>();
    private final double[] invFreq;

    /**
     * Creates a reference of the model's weights as given ({@link Arithmetic#F32}).
     *
     * @param model the model; a lazy model's tensors are read once, here
     */
    public ReferenceForward(CheckpointModel model) {
        this(model, Arithmetic.F32, null);
    }

    /**
     * Creates a reference that reproduces {@code arithmetic}.
     *
     * @param model      the model; a lazy model's tensors are read once, here
     * @param arithmetic weight rounding and low-precision steps to reproduce
     */
    public ReferenceForward(CheckpointModel model, Arithmetic arithmetic) {
        this(model, arithmetic, null);
    }

    /**
     * Creates a reference with the given RoPE inverse frequencies.
     *
     * @param model              the model; a lazy model's tensors are read once, here
     * @param arithmetic         weight rounding and low-precision steps to reproduce
     * @param inverseFrequencies {@code headDim / 2} RoPE inverse frequencies (for example Llama 3 scaled
     *                           ones), or {@code null} for {@code 1 / ropeTheta^(2i / headDim)}
     */
    public ReferenceForward(CheckpointModel model, Arithmetic arithmetic, double[] inverseFrequencies) {
        Objects.requireNonNull(model, "model");
        this.arithmetic = Objects.requireNonNull(arithmetic, "arithmetic");
        this.c = model.config();
        int half = c.headDim() / 2;
        if (inverseFrequencies == null) {
            inverseFrequencies = new double[half];
            for (int i = 0; i < half; i++) {
                inverseFrequencies[i] = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / c.headDim());
            }
        } else if (inverseFrequencies.length != half) {
            throw new IllegalArgumentException("expected " + half + " RoPE inverse frequencies (head dimension "
                    + c.headDim() + " / 2), got " + inverseFrequencies.length);
        }
        this.invFreq = inverseFrequencies.clone();
        for (Map.Entry<String, Tensor> e : model.tensors().entrySet()) {
            w.put(e.getKey(), stored(e.getValue()));
        }
    }

    private float[] stored(Tensor t) {
        float[] data = t.data();
        switch (arithmetic) {
            case F16:
            case BF16:
                float[] rounded = new float[data.length];
                for (int i = 0; i < data.length; i++) {
                    rounded[i] = arithmetic == Arithmetic.F16 ? toHalfPrecision(data[i])
                            : Float.intBitsToFloat((HfCheckpointWriter.toBfloat16(data[i]) & 0xffff) << 16);
                }
                return rounded;
            case Q8_0:
                return t.shape().length == 2 && t.rowLength() % Q8_BLOCK == 0 ? quantizeDequantize(data) : data;
            default:
                return data;
        }
    }

    /**
     * Returns the logits of every position of {@code tokens}, each position seeing itself and the ones before.
     *
     * @param tokens the whole sequence, not empty
     * @return {@code [tokens.length][vocabSize]} logits
     */
    public double[][] logits(int[] tokens) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("tokens must not be empty");
        }
        Cache cache = new Cache(tokens.length);
        double[][] out = new double[tokens.length][];
        for (int pos = 0; pos < tokens.length; pos++) {
            out[pos] = step(tokens[pos], pos, cache, true);
        }
        return out;
    }

    /**
     * Returns the hidden state of every position of {@code tokens} after the final norm (the vector the output
     * head reads, and the per-token output of an embedding model without pooling), each position seeing
     * itself and the ones before.
     *
     * @param tokens the whole sequence, not empty
     * @return {@code [tokens.length][hiddenSize]} hidden states
     */
    public double[][] hiddenStates(int[] tokens) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("tokens must not be empty");
        }
        Cache cache = new Cache(tokens.length);
        double[][] out = new double[tokens.length][];
        for (int pos = 0; pos < tokens.length; pos++) {
            out[pos] = rmsNorm(residual(tokens[pos], pos, cache), w.get("model.norm.weight"));
        }
        return out;
    }

    /**
     * Greedily generates exactly {@code n} tokens after {@code prompt}.
     *
     * @param prompt prompt token ids, not empty
     * @param n      how many tokens to generate
     * @return the generated ids
     */
    public int[] greedy(int[] prompt, int n) {
        return greedy(prompt, n, -1).tokens();
    }

    /**
     * Greedily continues {@code prompt} until {@code stopId} or {@code maxNewTokens}; ties go to the lower id.
     *
     * @param prompt       prompt token ids, not empty
     * @param maxNewTokens generation limit
     * @param stopId       end-of-turn token id, or {@code -1} for none
     * @return the generated ids, whether the stop token came, and the smallest decision margin
     */
    public Decoded greedy(int[] prompt, int maxNewTokens, int stopId) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt must not be empty");
        }
        Cache cache = new Cache(prompt.length + maxNewTokens);
        double[] logits = null;
        for (int pos = 0; pos < prompt.length; pos++) {
            logits = step(prompt[pos], pos, cache, pos == prompt.length - 1);
        }
        int[] out = new int[maxNewTokens];
        int n = 0;
        double minMargin = Double.POSITIVE_INFINITY;
        for (int pos = prompt.length; n < maxNewTokens; pos++) {
            int best = 0;
            int second = -1;
            for (int i = 1; i < logits.length; i++) {
                if (logits[i] > logits[best]) {
                    second = best;
                    best = i;
                } else if (second < 0 || logits[i] > logits[second]) {
                    second = i;
                }
            }
            minMargin = Math.min(minMargin, logits[best] - logits[second]);
            if (best == stopId) {
                return new Decoded(Arrays.copyOf(out, n), true, minMargin);
            }
            out[n++] = best;
            if (n < maxNewTokens) {
                logits = step(best, pos, cache, true);
            }
        }
        return new Decoded(out, false, minMargin);
    }

    /** Keys and values of every layer, {@code capacity * kvDim} per layer. */
    private final class Cache {
        final double[][] keys;
        final double[][] values;

        Cache(int capacity) {
            keys = new double[c.numLayers()][capacity * c.kvDim()];
            values = new double[c.numLayers()][capacity * c.kvDim()];
        }
    }

    private double[] step(int token, int pos, Cache cache, boolean wantLogits) {
        double[] x = residual(token, pos, cache);
        if (!wantLogits) {
            return null;
        }
        float[] head = c.tieWordEmbeddings() ? w.get("model.embed_tokens.weight") : w.get("lm_head.weight");
        return linear(head, null, rmsNorm(x, w.get("model.norm.weight")), c.vocabSize());
    }

    /** Runs every layer for one token at one position, filling the cache; returns the residual stream. */
    private double[] residual(int token, int pos, Cache cache) {
        int h = c.hiddenSize();
        int hd = c.headDim();
        int heads = c.numHeads();
        int kvHeads = c.numKvHeads();
        int kvDim = c.kvDim();
        int ff = c.intermediateSize();
        float[] embed = w.get("model.embed_tokens.weight");
        double[] x = new double[h];
        for (int i = 0; i < h; i++) {
            x[i] = embed[token * h + i];
        }
        double[] scores = new double[pos + 1];
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[] a = rmsNorm(x, w.get(p + "input_layernorm.weight"));
            double[] q = linear(w.get(p + "self_attn.q_proj.weight"), w.get(p + "self_attn.q_proj.bias"), a, h);
            double[] k = linear(w.get(p + "self_attn.k_proj.weight"), w.get(p + "self_attn.k_proj.bias"), a, kvDim);
            double[] v = linear(w.get(p + "self_attn.v_proj.weight"), w.get(p + "self_attn.v_proj.bias"), a, kvDim);
            if (c.qkNorm()) {
                headNorm(q, heads, w.get(p + "self_attn.q_norm.weight"));
                headNorm(k, kvHeads, w.get(p + "self_attn.k_norm.weight"));
            }
            rope(q, heads, pos);
            rope(k, kvHeads, pos);
            double[] keys = cache.keys[l];
            double[] values = cache.values[l];
            for (int i = 0; i < kvDim; i++) {
                keys[pos * kvDim + i] = cached(k[i]);
                values[pos * kvDim + i] = cached(v[i]);
            }
            double[] attended = new double[h];
            double sqrtHd = Math.sqrt(hd);
            for (int head = 0; head < heads; head++) {
                int kvBase = head / (heads / kvHeads) * hd;
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t <= pos; t++) {
                    double dot = 0;
                    for (int i = 0; i < hd; i++) {
                        dot += cached(q[head * hd + i]) * keys[t * kvDim + kvBase + i];
                    }
                    scores[t] = dot / sqrtHd;
                    max = Math.max(max, scores[t]);
                }
                double sum = 0;
                for (int t = 0; t <= pos; t++) {
                    scores[t] = Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                for (int t = 0; t <= pos; t++) {
                    double weight = cached(scores[t] / sum);
                    for (int i = 0; i < hd; i++) {
                        attended[head * hd + i] += weight * values[t * kvDim + kvBase + i];
                    }
                }
            }
            add(x, linear(w.get(p + "self_attn.o_proj.weight"), null, attended, h));
            double[] n = rmsNorm(x, w.get(p + "post_attention_layernorm.weight"));
            double[] gate = linear(w.get(p + "mlp.gate_proj.weight"), null, n, ff);
            double[] up = linear(w.get(p + "mlp.up_proj.weight"), null, n, ff);
            for (int i = 0; i < ff; i++) {
                gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
            }
            add(x, linear(w.get(p + "mlp.down_proj.weight"), null, gate, h));
        }
        return x;
    }

    private double cached(double v) {
        return arithmetic == Arithmetic.Q8_0 ? toHalfPrecision((float) v) : v;
    }

    private double[] rmsNorm(double[] x, float[] weight) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * weight[i];
        }
        return out;
    }

    /** RMS-normalizes each head's slice of x (Qwen3 q_norm / k_norm), in place. */
    private void headNorm(double[] x, int heads, float[] weight) {
        int hd = c.headDim();
        for (int head = 0; head < heads; head++) {
            double[] slice = Arrays.copyOfRange(x, head * hd, (head + 1) * hd);
            System.arraycopy(rmsNorm(slice, weight), 0, x, head * hd, hd);
        }
    }

    /** Hugging Face rotate-half RoPE: element i of a head pairs with element i + headDim/2. */
    private void rope(double[] x, int heads, int pos) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int head = 0; head < heads; head++) {
            int base = head * hd;
            for (int i = 0; i < half; i++) {
                double angle = pos * invFreq[i];
                double cos = Math.cos(angle);
                double sin = Math.sin(angle);
                double a = x[base + i];
                double b = x[base + i + half];
                x[base + i] = a * cos - b * sin;
                x[base + i + half] = b * cos + a * sin;
            }
        }
    }

    private double[] linear(float[] weight, float[] bias, double[] x, int rows) {
        int cols = x.length;
        double[] in = x;
        if (arithmetic == Arithmetic.Q8_0 && cols % Q8_BLOCK == 0) {
            float[] f = new float[cols];
            for (int i = 0; i < cols; i++) {
                f[i] = (float) x[i];
            }
            float[] q = quantizeDequantize(f);
            in = new double[cols];
            for (int i = 0; i < cols; i++) {
                in[i] = q[i];
            }
        }
        double[] out = new double[rows];
        // Four partial sums let the JIT keep several multiply-adds in flight.
        for (int r = 0; r < rows; r++) {
            double s0 = 0;
            double s1 = 0;
            double s2 = 0;
            double s3 = 0;
            int base = r * cols;
            int i = 0;
            for (; i + 3 < cols; i += 4) {
                s0 += weight[base + i] * in[i];
                s1 += weight[base + i + 1] * in[i + 1];
                s2 += weight[base + i + 2] * in[i + 2];
                s3 += weight[base + i + 3] * in[i + 3];
            }
            for (; i < cols; i++) {
                s0 += weight[base + i] * in[i];
            }
            out[r] = (s0 + s1) + (s2 + s3) + (bias == null ? 0 : bias[r]);
        }
        return out;
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    /**
     * Rounds each block of 32 values to 8-bit integers times an F16 scale, as Q8_0 does; a tail shorter
     * than a block comes back as zeros.
     *
     * @param x the values
     * @return the dequantized values
     */
    public static float[] quantizeDequantize(float[] x) {
        float[] out = new float[x.length];
        for (int b = 0; b + Q8_BLOCK <= x.length; b += Q8_BLOCK) {
            float amax = 0;
            for (int i = 0; i < Q8_BLOCK; i++) {
                amax = Math.max(amax, Math.abs(x[b + i]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            float storedScale = toHalfPrecision(d);
            for (int i = 0; i < Q8_BLOCK; i++) {
                out[b + i] = Math.round(x[b + i] * id) * storedScale;
            }
        }
        return out;
    }

    /**
     * Rounds a float to the nearest IEEE half-precision value, ties to even, subnormal halves included;
     * beyond the half range the result is infinite.
     *
     * @param v the value
     * @return the rounded value, as a float
     */
    public static float toHalfPrecision(float v) {
        if (Math.abs(v) < 0x1p-14f) {
            // Subnormal halves are the multiples of 2^-24; the product and rint are exact in double.
            return (float) (Math.rint(v * 0x1p24) * 0x1p-24);
        }
        int bits = Float.floatToRawIntBits(v);
        float rounded = Float.intBitsToFloat((bits + 0x0FFF + ((bits >>> 13) & 1)) & 0xFFFFE000);
        return Math.abs(rounded) > 65504f ? Math.copySign(Float.POSITIVE_INFINITY, v) : rounded;
    }
}
