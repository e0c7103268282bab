package io.github.locallm.demo;

import io.github.locallm.modelkit.LlamaConfig;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * A plain-Java Llama forward pass with greedy decoding, used to check a trained model without any native
 * code: it computes what the backends compute (RMSNorm, rotate-half RoPE on Hugging Face weights, causal
 * attention, SwiGLU) in F32, and can emulate llama.cpp's Q8_0 arithmetic (8-bit weights and activations
 * in blocks of 32, F16 attention cache) to see whether a quantized export still gives the same answers.
 *
 * <p>Not thread-safe: the key/value cache is per instance.
 */
final class ReferenceLlama {

    /** Arithmetic to reproduce. */
    enum Arithmetic {
        /** Plain F32 everywhere. */
        F32,
        /** Weights rounded to F16 (as stored in an F16 checkpoint), arithmetic in F32. */
        F16,
        /** llama.cpp on a Q8_0 GGUF: Q8_0 weights, activations quantized to Q8_0 for each product, F16 cache. */
        Q8_0
    }

    /**
     * The outcome of a greedy decode.
     *
     * @param tokens    generated ids, the stop token excluded
     * @param stopped   whether the stop token was produced before the limit
     * @param minMargin smallest gap between the best and the second-best logit over the generated steps
     */
    record Decoded(int[] tokens, boolean stopped, float minMargin) {
    }

    private final LlamaConfig c;
    private final Arithmetic arithmetic;
    private final float[] embed;
    private final float[][] attnNorm;
    private final float[][] wq;
    private final float[][] wk;
    private final float[][] wv;
    private final float[][] wo;
    private final float[][] ffnNorm;
    private final float[][] gate;
    private final float[][] up;
    private final float[][] down;
    private final float[] norm;
    private final float[] lmHead;
    private final float[] invFreq;

    ReferenceLlama(LlamaConfig config, Map<String, float[]> hfTensors, Arithmetic arithmetic) {
        this.c = Objects.requireNonNull(config, "config");
        this.arithmetic = Objects.requireNonNull(arithmetic, "arithmetic");
        int layers = c.numLayers();
        embed = weight(hfTensors, "model.embed_tokens.weight", c.hiddenSize());
        attnNorm = new float[layers][];
        wq = new float[layers][];
        wk = new float[layers][];
        wv = new float[layers][];
        wo = new float[layers][];
        ffnNorm = new float[layers][];
        gate = new float[layers][];
        up = new float[layers][];
        down = new float[layers][];
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            attnNorm[l] = vector(hfTensors, p + "input_layernorm.weight");
            wq[l] = weight(hfTensors, p + "self_attn.q_proj.weight", c.hiddenSize());
            wk[l] = weight(hfTensors, p + "self_attn.k_proj.weight", c.hiddenSize());
            wv[l] = weight(hfTensors, p + "self_attn.v_proj.weight", c.hiddenSize());
            wo[l] = weight(hfTensors, p + "self_attn.o_proj.weight", c.hiddenSize());
            ffnNorm[l] = vector(hfTensors, p + "post_attention_layernorm.weight");
            gate[l] = weight(hfTensors, p + "mlp.gate_proj.weight", c.hiddenSize());
            up[l] = weight(hfTensors, p + "mlp.up_proj.weight", c.hiddenSize());
            down[l] = weight(hfTensors, p + "mlp.down_proj.weight", c.intermediateSize());
        }
        norm = vector(hfTensors, "model.norm.weight");
        lmHead = c.tieWordEmbeddings() ? embed : weight(hfTensors, "lm_head.weight", c.hiddenSize());
        int hd = c.headDim();
        invFreq = new float[hd / 2];
        for (int i = 0; i < hd / 2; i++) {
            invFreq[i] = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / hd));
        }
    }

    private static float[] get(Map<String, float[]> tensors, String name) {
        float[] t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("missing tensor " + name);
        }
        return t;
    }

    private float[] weight(Map<String, float[]> tensors, String name, int rowLength) {
        float[] t = get(tensors, name);
        return arithmetic == Arithmetic.Q8_0 && rowLength % 32 == 0 ? quantizeDequantize(t) : vector(tensors, name);
    }

    private float[] vector(Map<String, float[]> tensors, String name) {
        float[] t = get(tensors, name);
        if (arithmetic != Arithmetic.F16) {
            return t;
        }
        float[] rounded = new float[t.length];
        for (int i = 0; i < t.length; i++) {
            rounded[i] = toHalfPrecision(t[i]);
        }
        return rounded;
    }

    /**
     * Greedily continues {@code prompt} until {@code stopId} or {@code maxNewTokens}.
     *
     * @param prompt       prompt token ids
     * @param maxNewTokens generation limit
     * @param stopId       end-of-turn token id
     * @return the generated ids and the smallest decision margin
     */
    Decoded greedy(int[] prompt, int maxNewTokens, int stopId) {
        int capacity = prompt.length + maxNewTokens;
        int kv = c.kvDim();
        float[][] keys = new float[c.numLayers()][capacity * kv];
        float[][] values = new float[c.numLayers()][capacity * kv];
        float[] logits = null;
        for (int pos = 0; pos < prompt.length; pos++) {
            logits = step(prompt[pos], pos, keys, values, pos == prompt.length - 1);
        }
        int[] out = new int[maxNewTokens];
        int n = 0;
        float minMargin = Float.POSITIVE_INFINITY;
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
            if (n == maxNewTokens) {
                break;
            }
            logits = step(best, pos, keys, values, true);
        }
        return new Decoded(Arrays.copyOf(out, n), false, minMargin);
    }

    private float[] step(int token, int pos, float[][] keys, float[][] values, boolean wantLogits) {
        int h = c.hiddenSize();
        int hd = c.headDim();
        int heads = c.numHeads();
        int kvHeads = c.numKvHeads();
        int kvDim = c.kvDim();
        float[] x = Arrays.copyOfRange(embed, token * h, (token + 1) * h);
        float[] scores = new float[pos + 1];
        for (int l = 0; l < c.numLayers(); l++) {
            float[] a = rmsNorm(x, attnNorm[l]);
            float[] q = matVec(wq[l], a, h, h);
            float[] k = matVec(wk[l], a, kvDim, h);
            float[] v = matVec(wv[l], a, kvDim, h);
            rope(q, heads, pos);
            rope(k, kvHeads, pos);
            for (int i = 0; i < kvDim; i++) {
                keys[l][pos * kvDim + i] = cache(k[i]);
                values[l][pos * kvDim + i] = cache(v[i]);
            }
            float[] attended = new float[h];
            float scale = (float) (1.0 / Math.sqrt(hd));
            for (int head = 0; head < heads; head++) {
                int kvHead = head / (heads / kvHeads);
                float max = Float.NEGATIVE_INFINITY;
                for (int t = 0; t <= pos; t++) {
                    float s = 0;
                    for (int i = 0; i < hd; i++) {
                        s += cache(q[head * hd + i]) * keys[l][t * kvDim + kvHead * hd + i];
                    }
                    scores[t] = s * scale;
                    max = Math.max(max, scores[t]);
                }
                float sum = 0;
                for (int t = 0; t <= pos; t++) {
                    scores[t] = (float) Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                for (int t = 0; t <= pos; t++) {
                    float p = cache(scores[t] / sum);
                    for (int i = 0; i < hd; i++) {
                        attended[head * hd + i] += p * values[l][t * kvDim + kvHead * hd + i];
                    }
                }
            }
            float[] o = matVec(wo[l], attended, h, h);
            for (int i = 0; i < h; i++) {
                x[i] += o[i];
            }
            float[] n = rmsNorm(x, ffnNorm[l]);
            float[] g = matVec(gate[l], n, c.intermediateSize(), h);
            float[] u = matVec(up[l], n, c.intermediateSize(), h);
            for (int i = 0; i < g.length; i++) {
                g[i] = g[i] / (1f + (float) Math.exp(-g[i])) * u[i];
            }
            float[] d = matVec(down[l], g, h, c.intermediateSize());
            for (int i = 0; i < h; i++) {
                x[i] += d[i];
            }
        }
        if (!wantLogits) {
            return null;
        }
        return matVec(lmHead, rmsNorm(x, norm), c.vocabSize(), h);
    }

    private float[] rmsNorm(float[] x, float[] weight) {
        double ss = 0;
        for (float v : x) {
            ss += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / x.length + c.rmsNormEps()));
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * weight[i];
        }
        return out;
    }

    /** Hugging Face rotate-half RoPE: element i pairs with element i + headDim/2 of the same head. */
    private void rope(float[] v, int heads, int pos) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int head = 0; head < heads; head++) {
            int base = head * hd;
            for (int i = 0; i < half; i++) {
                double angle = pos * (double) invFreq[i];
                float cos = (float) Math.cos(angle);
                float sin = (float) Math.sin(angle);
                float a = v[base + i];
                float b = v[base + i + half];
                v[base + i] = a * cos - b * sin;
                v[base + i + half] = b * cos + a * sin;
            }
        }
    }

    private float[] matVec(float[] w, float[] x, int rows, int cols) {
        float[] in = arithmetic == Arithmetic.Q8_0 && cols % 32 == 0 ? quantizeDequantize(x) : x;
        float[] out = new float[rows];
        // Four partial sums let the JIT keep several multiply-adds in flight; every width here is a multiple of 4.
        for (int r = 0; r < rows; r++) {
            float s0 = 0;
            float s1 = 0;
            float s2 = 0;
            float s3 = 0;
            int base = r * cols;
            int i = 0;
            for (; i + 3 < cols; i += 4) {
                s0 += w[base + i] * in[i];
                s1 += w[base + i + 1] * in[i + 1];
                s2 += w[base + i + 2] * in[i + 2];
                s3 += w[base + i + 3] * in[i + 3];
            }
            for (; i < cols; i++) {
                s0 += w[base + i] * in[i];
            }
            out[r] = (s0 + s1) + (s2 + s3);
        }
        return out;
    }

    private float cache(float v) {
        return arithmetic == Arithmetic.Q8_0 ? toHalfPrecision(v) : v;
    }

    /** Rounds each block of 32 values to 8-bit integers times an F16 scale, as Q8_0 does. */
    static float[] quantizeDequantize(float[] x) {
        float[] out = new float[x.length];
        for (int b = 0; b + 32 <= x.length; b += 32) {
            float amax = 0;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(x[b + i]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            float storedScale = toHalfPrecision(d);
            for (int i = 0; i < 32; i++) {
                out[b + i] = Math.round(x[b + i] * id) * storedScale;
            }
        }
        return out;
    }

    /** Rounds a float to the nearest F16 value (normal range; the tiny values here never go subnormal). */
    static float toHalfPrecision(float v) {
        int bits = Float.floatToRawIntBits(v);
        int rounded = (bits + 0x0FFF + ((bits >>> 13) & 1)) & 0xFFFFE000;
        return Float.intBitsToFloat(rounded);
    }
}
