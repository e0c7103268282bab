package io.github.locallm.djl;

import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.HfCheckpointWriter;
import io.github.locallm.modelkit.LlamaConfig;
import io.github.locallm.modelkit.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * A plain-Java, double-precision forward pass of the Hugging Face Llama/Qwen2 decoder, written from the
 * model definition without any cache or batching: the exact reference the NDArray decoder is checked
 * against.
 */
final class ReferenceDecoder {
    private final LlamaConfig c;
    private final Map<String, double[]> w = new HashMap<>();
    private final double[] invFreq;

    /**
     * @param model the model
     * @param stored the element type the checkpoint stores, so the reference sees the same rounded weights
     */
    ReferenceDecoder(CheckpointModel model, HfCheckpointWriter.DType stored) {
        this(model, stored, null);
    }

    /**
     * @param model the model
     * @param stored the element type the checkpoint stores
     * @param invFreq RoPE inverse frequencies, or {@code null} for the unscaled ones of the config
     */
    ReferenceDecoder(CheckpointModel model, HfCheckpointWriter.DType stored, double[] invFreq) {
        this.c = model.config();
        int half = c.headDim() / 2;
        if (invFreq == null) {
            invFreq = new double[half];
            for (int i = 0; i < half; i++) {
                invFreq[i] = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / c.headDim());
            }
        }
        this.invFreq = invFreq;
        for (Map.Entry<String, Tensor> e : model.tensors().entrySet()) {
            float[] f = e.getValue().data();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = round(f[i], stored);
            }
            w.put(e.getKey(), d);
        }
    }

    private static double round(float f, HfCheckpointWriter.DType dtype) {
        switch (dtype) {
            case BF16:
                return Float.intBitsToFloat((HfCheckpointWriter.toBfloat16(f) & 0xffff) << 16);
            case F16:
                return SafetensorsFile.halfToFloat(HfCheckpointWriter.toHalf(f));
            default:
                return f;
        }
    }

    /**
     * @param tokens the whole sequence
     * @return logits of every position, {@code [tokens.length][vocab]}
     */
    double[][] logits(int[] tokens) {
        int t = tokens.length;
        int h = c.hiddenSize();
        int nH = c.numHeads();
        int nKv = c.numKvHeads();
        int hd = c.headDim();
        int kvDim = nKv * hd;
        double[][] x = new double[t][];
        double[] embed = w.get("model.embed_tokens.weight");
        for (int i = 0; i < t; i++) {
            x[i] = new double[h];
            System.arraycopy(embed, tokens[i] * h, x[i], 0, h);
        }
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] q = new double[t][];
            double[][] k = new double[t][];
            double[][] v = new double[t][];
            for (int i = 0; i < t; i++) {
                double[] n = rms(x[i], w.get(p + "input_layernorm.weight"));
                q[i] = linear(n, w.get(p + "self_attn.q_proj.weight"), w.get(p + "self_attn.q_proj.bias"), h);
                k[i] = linear(n, w.get(p + "self_attn.k_proj.weight"), w.get(p + "self_attn.k_proj.bias"), kvDim);
                v[i] = linear(n, w.get(p + "self_attn.v_proj.weight"), w.get(p + "self_attn.v_proj.bias"), kvDim);
                rope(q[i], nH, hd, i);
                rope(k[i], nKv, hd, i);
            }
            for (int i = 0; i < t; i++) {
                double[] attn = new double[nH * hd];
                for (int head = 0; head < nH; head++) {
                    int kvh = head / (nH / nKv);
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int d = 0; d < hd; d++) {
                            dot += q[i][head * hd + d] * k[j][kvh * hd + d];
                        }
                        s[j] = dot / Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int d = 0; d < hd; d++) {
                            attn[head * hd + d] += s[j] / sum * v[j][kvh * hd + d];
                        }
                    }
                }
                double[] o = linear(attn, w.get(p + "self_attn.o_proj.weight"), null, h);
                for (int d = 0; d < h; d++) {
                    x[i][d] += o[d];
                }
                double[] n = rms(x[i], w.get(p + "post_attention_layernorm.weight"));
                int ff = c.intermediateSize();
                double[] g = linear(n, w.get(p + "mlp.gate_proj.weight"), null, ff);
                double[] u = linear(n, w.get(p + "mlp.up_proj.weight"), null, ff);
                for (int d = 0; d < ff; d++) {
                    g[d] = g[d] / (1 + Math.exp(-g[d])) * u[d];
                }
                double[] down = linear(g, w.get(p + "mlp.down_proj.weight"), null, h);
                for (int d = 0; d < h; d++) {
                    x[i][d] += down[d];
                }
            }
        }
        double[] head = c.tieWordEmbeddings() ? embed : w.get("lm_head.weight");
        double[][] out = new double[t][];
        for (int i = 0; i < t; i++) {
            out[i] = linear(rms(x[i], w.get("model.norm.weight")), head, null, c.vocabSize());
        }
        return out;
    }

    private double[] rms(double[] x, double[] weight) {
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

    private static double[] linear(double[] x, double[] weight, double[] bias, int out) {
        int in = x.length;
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = bias == null ? 0 : bias[o];
            for (int i = 0; i < in; i++) {
                s += weight[o * in + i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }

    /** Hugging Face rotate-half RoPE: dimension i pairs with i + headDim/2. */
    private void rope(double[] x, int heads, int hd, int pos) {
        int half = hd / 2;
        for (int head = 0; head < heads; head++) {
            int base = head * hd;
            for (int i = 0; i < half; i++) {
                double a = pos * invFreq[i];
                double x1 = x[base + i];
                double x2 = x[base + i + half];
                x[base + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
                x[base + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
            }
        }
    }
}
