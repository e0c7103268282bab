package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.LlamaConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * A plain Java forward pass of a Llama/Qwen2 checkpoint with Hugging Face semantics (rotate-half RoPE,
 * grouped-query attention, SwiGLU), used to check that what the GGUF writer stores is the same model.
 */
final class ReferenceLlama {

    private final CheckpointModel m;
    private final LlamaConfig c;
    private final List<float[][]> keys = new ArrayList<>();
    private final List<float[][]> values = new ArrayList<>();

    ReferenceLlama(CheckpointModel model) {
        this.m = model;
        this.c = model.config();
        for (int l = 0; l < c.numLayers(); l++) {
            keys.add(new float[0][]);
            values.add(new float[0][]);
        }
    }

    private float[] w(String name) {
        return m.tensors().get(name).data();
    }

    /** Greedy decoding of {@code n} tokens after the prompt. */
    int[] greedy(int[] prompt, int n) {
        float[] logits = null;
        for (int t : prompt) {
            logits = step(t);
        }
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int v = 1; v < logits.length; v++) {
                if (logits[v] > logits[best]) {
                    best = v;
                }
            }
            out[i] = best;
            logits = step(best);
        }
        return out;
    }

    private float[] step(int token) {
        int h = c.hiddenSize();
        int hd = c.headDim();
        int pos = keys.get(0).length;
        float[] x = new float[h];
        System.arraycopy(w("model.embed_tokens.weight"), token * h, x, 0, h);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            float[] xn = rmsNorm(x, w(p + "input_layernorm.weight"));
            float[] q = matVec(w(p + "self_attn.q_proj.weight"), xn, h);
            float[] k = matVec(w(p + "self_attn.k_proj.weight"), xn, c.kvDim());
            float[] v = matVec(w(p + "self_attn.v_proj.weight"), xn, c.kvDim());
            if (c.attentionBias()) {
                add(q, w(p + "self_attn.q_proj.bias"));
                add(k, w(p + "self_attn.k_proj.bias"));
                add(v, w(p + "self_attn.v_proj.bias"));
            }
            rope(q, c.numHeads(), pos);
            rope(k, c.numKvHeads(), pos);
            float[][] ks = append(keys.get(l), k);
            float[][] vs = append(values.get(l), v);
            keys.set(l, ks);
            values.set(l, vs);
            float[] attn = new float[h];
            int group = c.numHeads() / c.numKvHeads();
            for (int head = 0; head < c.numHeads(); head++) {
                int kvHead = head / group;
                double[] scores = new double[ks.length];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < ks.length; t++) {
                    double s = 0;
                    for (int i = 0; i < hd; i++) {
                        s += q[head * hd + i] * ks[t][kvHead * hd + i];
                    }
                    scores[t] = s / Math.sqrt(hd);
                    max = Math.max(max, scores[t]);
                }
                double sum = 0;
                for (int t = 0; t < ks.length; t++) {
                    scores[t] = Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                for (int t = 0; t < ks.length; t++) {
                    for (int i = 0; i < hd; i++) {
                        attn[head * hd + i] += (float) (scores[t] / sum * vs[t][kvHead * hd + i]);
                    }
                }
            }
            add(x, matVec(w(p + "self_attn.o_proj.weight"), attn, h));
            float[] xn2 = rmsNorm(x, w(p + "post_attention_layernorm.weight"));
            int ff = c.intermediateSize();
            float[] gate = matVec(w(p + "mlp.gate_proj.weight"), xn2, ff);
            float[] up = matVec(w(p + "mlp.up_proj.weight"), xn2, ff);
            for (int i = 0; i < ff; i++) {
                gate[i] = (float) (gate[i] / (1 + Math.exp(-gate[i])) * up[i]);
            }
            add(x, matVec(w(p + "mlp.down_proj.weight"), gate, h));
        }
        float[] xn = rmsNorm(x, w("model.norm.weight"));
        float[] head = c.tieWordEmbeddings() ? w("model.embed_tokens.weight") : w("lm_head.weight");
        return matVec(head, xn, c.vocabSize());
    }

    private void rope(float[] x, int heads, int pos) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int head = 0; head < heads; head++) {
            for (int i = 0; i < half; i++) {
                double freq = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / hd);
                double cos = Math.cos(pos * freq);
                double sin = Math.sin(pos * freq);
                int a = head * hd + i;
                int b = a + half;
                float xa = x[a];
                float xb = x[b];
                x[a] = (float) (xa * cos - xb * sin);
                x[b] = (float) (xb * cos + xa * sin);
            }
        }
    }

    private float[] rmsNorm(float[] x, float[] weight) {
        double ss = 0;
        for (float v : x) {
            ss += v * v;
        }
        double scale = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (x[i] * scale * weight[i]);
        }
        return out;
    }

    private static float[] matVec(float[] w, float[] x, int rows) {
        float[] out = new float[rows];
        int n = x.length;
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                s += w[r * n + i] * x[i];
            }
            out[r] = (float) s;
        }
        return out;
    }

    private static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private static float[][] append(float[][] rows, float[] row) {
        float[][] out = java.util.Arrays.copyOf(rows, rows.length + 1);
        out[rows.length] = row;
        return out;
    }
}
