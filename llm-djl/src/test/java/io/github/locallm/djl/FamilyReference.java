package io.github.locallm.djl;

import io.github.locallm.modelkit.TinyArchitectures;
import io.github.locallm.modelkit.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A plain-Java, double-precision forward pass of the decoder families, one token at a time, written from
 * the families' definitions in transformers and sharing no code with the backend's decoder: it reads the
 * config map and the tensors of a {@link TinyArchitectures.Model} directly.
 *
 * <p>It records which experts each token of each mixture-of-experts layer was sent to. Not thread-safe.
 */
final class FamilyReference {
    private final Map<String, Object> c;
    private final Map<String, float[]> w = new HashMap<>();
    private final String arch;
    private final int h;
    private final int heads;
    private final int kvHeads;
    private final int hd;
    private final int layers;
    private final int vocab;
    private final int rot;
    private final double eps;
    /** Per layer and token: the experts chosen, as a sorted list. */
    final List<List<Integer>> routes = new ArrayList<>();

    FamilyReference(TinyArchitectures.Model model) {
        this.c = model.config();
        for (Map.Entry<String, Tensor> e : model.tensors().entrySet()) {
            w.put(e.getKey(), e.getValue().data());
        }
        arch = ((List<?>) c.get("architectures")).get(0).toString();
        h = num("hidden_size").intValue();
        heads = num("num_attention_heads").intValue();
        kvHeads = num("num_key_value_heads").intValue();
        hd = c.get("head_dim") != null ? num("head_dim").intValue() : h / heads;
        layers = num("num_hidden_layers").intValue();
        vocab = num("vocab_size").intValue();
        double partial = c.get("partial_rotary_factor") != null ? num("partial_rotary_factor").doubleValue()
                : arch.equals("PhiForCausalLM") ? 0.5 : 1.0;
        rot = (int) (hd * partial);
        eps = arch.equals("PhiForCausalLM") ? num("layer_norm_eps").doubleValue() : num("rms_norm_eps").doubleValue();
    }

    private Number num(String key) {
        return (Number) c.get(key);
    }

    private boolean gemma() {
        return arch.startsWith("Gemma");
    }

    /**
     * Greedily continues a prompt: the prompt is one forward pass (its RoPE sequence length is the prompt's),
     * then one token per pass.
     *
     * @param prompt the prompt ids
     * @param n tokens to generate
     * @return the tokens
     */
    int[] greedy(int[] prompt, int n) {
        double[][] kc = new double[layers][(prompt.length + n) * kvHeads * hd];
        double[][] vc = new double[layers][(prompt.length + n) * kvHeads * hd];
        double[] logits = null;
        for (int p = 0; p < prompt.length; p++) {
            logits = step(prompt[p], p, prompt.length, kc, vc);
        }
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < vocab; j++) {
                if (logits[j] > logits[best]) {
                    best = j;
                }
            }
            out[i] = best;
            int pos = prompt.length + i;
            if (i + 1 < n) {
                logits = step(best, pos, pos + 1, kc, vc);
            }
        }
        return out;
    }

    private double[] step(int token, int pos, int seqLen, double[][] kc, double[][] vc) {
        double[] x = new double[h];
        float[] embed = w.get("model.embed_tokens.weight");
        double scale = gemma() ? (float) Math.sqrt(h) : 1.0;
        for (int i = 0; i < h; i++) {
            x[i] = embed[token * h + i] * scale;
        }
        boolean phi = arch.equals("PhiForCausalLM");
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[] n = norm(x, p + "input_layernorm");
            double[] a = attention(n, l, pos, seqLen, kc[l], vc[l]);
            if (phi) {
                double[] m = matVec(p + "mlp.fc2", act(matVec(p + "mlp.fc1", n)));
                for (int i = 0; i < h; i++) {
                    x[i] += a[i] + m[i];
                }
                continue;
            }
            if (gemma()) {
                a = norm(a, p + "post_attention_layernorm");
            }
            add(x, a);
            n = norm(x, gemma() ? p + "pre_feedforward_layernorm" : p + "post_attention_layernorm");
            double[] m = feedForward(n, l);
            if (gemma()) {
                m = norm(m, p + "post_feedforward_layernorm");
            }
            add(x, m);
        }
        double[] n = norm(x, phi ? "model.final_layernorm" : "model.norm");
        boolean tied = Boolean.TRUE.equals(c.get("tie_word_embeddings"));
        double[] logits = tied ? matVec(embed, null, n, vocab) : matVec("lm_head", n);
        Object cap = c.get("final_logit_softcapping");
        if (gemma() && cap != null) {
            double s = ((Number) cap).doubleValue();
            for (int i = 0; i < logits.length; i++) {
                logits[i] = Math.tanh(logits[i] / s) * s;
            }
        }
        return logits;
    }

    private double[] attention(double[] x, int l, int pos, int seqLen, double[] kc, double[] vc) {
        String p = "model.layers." + l + ".self_attn.";
        double[] q;
        double[] k;
        double[] v;
        if (arch.equals("Phi3ForCausalLM")) {
            double[] qkv = matVec(p + "qkv_proj", x);
            q = java.util.Arrays.copyOfRange(qkv, 0, heads * hd);
            k = java.util.Arrays.copyOfRange(qkv, heads * hd, (heads + kvHeads) * hd);
            v = java.util.Arrays.copyOfRange(qkv, (heads + kvHeads) * hd, (heads + 2 * kvHeads) * hd);
        } else {
            q = matVec(p + "q_proj", x);
            k = matVec(p + "k_proj", x);
            v = matVec(p + "v_proj", x);
        }
        if (w.containsKey(p + "q_norm.weight")) {
            headNorm(q, heads, p + "q_norm");
            headNorm(k, kvHeads, p + "k_norm");
        }
        int window = window(l);
        boolean local = arch.equals("Gemma3ForCausalLM") && window > 0;
        double[] inv = frequencies(local, seqLen);
        double attnFactor = local ? 1 : attentionFactor();
        rope(q, heads, pos, inv, attnFactor);
        rope(k, kvHeads, pos, inv, attnFactor);
        int kvDim = kvHeads * hd;
        System.arraycopy(k, 0, kc, pos * kvDim, kvDim);
        System.arraycopy(v, 0, vc, pos * kvDim, kvDim);
        double scale = 1 / Math.sqrt(hd);
        if (gemma()) {
            scale = 1 / Math.sqrt(num("query_pre_attn_scalar").doubleValue());
        }
        Object softcap = gemma() ? c.get("attn_logit_softcapping") : null;
        double[] out = new double[heads * hd];
        for (int head = 0; head < heads; head++) {
            int kvBase = head / (heads / kvHeads) * hd;
            double[] s = new double[pos + 1];
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t <= pos; t++) {
                if (window > 0 && pos - t >= window) {
                    s[t] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                double dot = 0;
                for (int i = 0; i < hd; i++) {
                    dot += q[head * hd + i] * kc[t * kvDim + kvBase + i];
                }
                s[t] = dot * scale;
                if (softcap != null) {
                    double cap = ((Number) softcap).doubleValue();
                    s[t] = Math.tanh(s[t] / cap) * cap;
                }
                max = Math.max(max, s[t]);
            }
            double sum = 0;
            for (int t = 0; t <= pos; t++) {
                s[t] = s[t] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[t] - max);
                sum += s[t];
            }
            for (int t = 0; t <= pos; t++) {
                for (int i = 0; i < hd; i++) {
                    out[head * hd + i] += s[t] / sum * vc[t * kvDim + kvBase + i];
                }
            }
        }
        return matVec(p + (arch.equals("PhiForCausalLM") ? "dense" : "o_proj"), out);
    }

    /** The attention window of a layer, 0 for full attention, as each family's config defines it. */
    private int window(int l) {
        Object sw = c.get("sliding_window");
        if (sw == null) {
            return 0;
        }
        int win = ((Number) sw).intValue();
        switch (arch) {
            case "MistralForCausalLM", "Phi3ForCausalLM", "MixtralForCausalLM":
                return win;
            case "Gemma2ForCausalLM":
                return l % 2 == 0 ? win : 0;
            case "Gemma3ForCausalLM": {
                int pattern = c.get("sliding_window_pattern") != null ? num("sliding_window_pattern").intValue() : 6;
                return (l + 1) % pattern != 0 ? win : 0;
            }
            default:
                return Boolean.TRUE.equals(c.get("use_sliding_window")) ? win : 0;
        }
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> ropeScaling() {
        return (Map<String, Object>) c.get("rope_scaling");
    }

    private double attentionFactor() {
        Map<String, Object> rs = ropeScaling();
        if (rs == null) {
            return 1;
        }
        String type = String.valueOf(rs.getOrDefault("rope_type", rs.get("type")));
        if (type.equals("yarn")) {
            return 0.1 * Math.log(yarnFactor(rs)) + 1;
        }
        if (type.equals("longrope")) {
            double original = num("original_max_position_embeddings").doubleValue();
            double ratio = num("max_position_embeddings").doubleValue() / original;
            return ratio <= 1 ? 1 : Math.sqrt(1 + Math.log(ratio) / Math.log(original));
        }
        return 1;
    }

    /**
     * The yarn factor: as given, or, when the config gives none, the ratio of max_position_embeddings to the
     * original context (transformers' rule).
     */
    private double yarnFactor(Map<String, Object> rs) {
        if (rs.get("factor") != null) {
            return ((Number) rs.get("factor")).doubleValue();
        }
        return num("max_position_embeddings").doubleValue()
                / ((Number) rs.get("original_max_position_embeddings")).doubleValue();
    }

    /** RoPE inverse frequencies of a layer for a pass reaching {@code seqLen} positions. */
    private double[] frequencies(boolean local, int seqLen) {
        double base = local ? num("rope_local_base_freq").doubleValue() : num("rope_theta").doubleValue();
        Map<String, Object> rs = local ? null : ropeScaling();
        String type = rs == null ? "default" : String.valueOf(rs.getOrDefault("rope_type", rs.get("type")));
        double factor = rs != null && rs.get("factor") != null ? ((Number) rs.get("factor")).doubleValue() : 1;
        if (type.equals("yarn")) {
            factor = yarnFactor(rs);
        }
        double maxPos = num("max_position_embeddings").doubleValue();
        if (type.equals("dynamic") && seqLen > maxPos) {
            base *= Math.pow(factor * seqLen / maxPos - (factor - 1), rot / (rot - 2.0));
        }
        double[] inv = new double[rot / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = Math.pow(base, -2.0 * i / rot);
        }
        switch (type) {
            case "linear" -> {
                for (int i = 0; i < inv.length; i++) {
                    inv[i] /= factor;
                }
            }
            case "llama3" -> {
                // Wavelengths longer than the original context / low_freq_factor are divided by the factor,
                // shorter than original / high_freq_factor kept, a smooth blend in between.
                double original = ((Number) rs.get("original_max_position_embeddings")).doubleValue();
                double low = ((Number) rs.get("low_freq_factor")).doubleValue();
                double high = ((Number) rs.get("high_freq_factor")).doubleValue();
                for (int i = 0; i < inv.length; i++) {
                    double wavelength = 2 * Math.PI / inv[i];
                    if (wavelength > original / low) {
                        inv[i] /= factor;
                    } else if (wavelength >= original / high) {
                        double smooth = (original / wavelength - low) / (high - low);
                        inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                    }
                }
            }
            case "longrope" -> {
                String key = seqLen > num("original_max_position_embeddings").intValue() ? "long_factor" : "short_factor";
                List<?> f = (List<?>) rs.get(key);
                for (int i = 0; i < inv.length; i++) {
                    inv[i] /= ((Number) f.get(i)).doubleValue();
                }
            }
            case "yarn" -> {
                double original = ((Number) rs.get("original_max_position_embeddings")).doubleValue();
                // Dimensions rotating more than beta_fast times over the original context keep their
                // frequency, fewer than beta_slow times are interpolated, a linear ramp in between.
                double lo = Math.floor(rot * Math.log(original / (32 * 2 * Math.PI)) / (2 * Math.log(base)));
                double hi = Math.ceil(rot * Math.log(original / (1 * 2 * Math.PI)) / (2 * Math.log(base)));
                lo = Math.max(lo, 0);
                hi = Math.min(hi, rot - 1);
                for (int i = 0; i < inv.length; i++) {
                    double ramp = Math.max(0, Math.min(1, (i - lo) / (hi == lo ? 0.001 : hi - lo)));
                    inv[i] = inv[i] * (1 - ramp) + inv[i] / factor * ramp;
                }
            }
            default -> {
            }
        }
        return inv;
    }

    private void rope(double[] x, int n, int pos, double[] inv, double factor) {
        int half = rot / 2;
        for (int head = 0; head < n; head++) {
            int b = head * hd;
            for (int i = 0; i < half; i++) {
                double cos = Math.cos(pos * inv[i]) * factor;
                double sin = Math.sin(pos * inv[i]) * factor;
                double a = x[b + i];
                double z = x[b + i + half];
                x[b + i] = a * cos - z * sin;
                x[b + i + half] = z * cos + a * sin;
            }
        }
    }

    private double[] feedForward(double[] x, int l) {
        String p = "model.layers." + l + ".";
        if (arch.equals("Phi3ForCausalLM")) {
            double[] gu = matVec(p + "mlp.gate_up_proj", x);
            int inter = gu.length / 2;
            double[] a = new double[inter];
            for (int i = 0; i < inter; i++) {
                a[i] = act(gu[i]) * gu[inter + i];
            }
            return matVec(p + "mlp.down_proj", a);
        }
        if (arch.equals("MixtralForCausalLM")) {
            String mp = p + "block_sparse_moe.";
            return experts(x, mp + "gate", num("num_local_experts").intValue(), true,
                    e -> gated(x, mp + "experts." + e + ".w1", mp + "experts." + e + ".w3", mp + "experts." + e + ".w2"));
        }
        if (w.containsKey(p + "mlp.gate.weight")) {
            boolean renorm = Boolean.TRUE.equals(c.get("norm_topk_prob"));
            double[] y = experts(x, p + "mlp.gate", num("num_experts").intValue(), renorm,
                    e -> gated(x, p + "mlp.experts." + e + ".gate_proj", p + "mlp.experts." + e + ".up_proj",
                            p + "mlp.experts." + e + ".down_proj"));
            if (w.containsKey(p + "mlp.shared_expert_gate.weight")) {
                double g = 1 / (1 + Math.exp(-matVec(p + "mlp.shared_expert_gate", x)[0]));
                double[] s = gated(x, p + "mlp.shared_expert.gate_proj", p + "mlp.shared_expert.up_proj",
                        p + "mlp.shared_expert.down_proj");
                for (int i = 0; i < h; i++) {
                    y[i] += g * s[i];
                }
            }
            return y;
        }
        return gated(x, p + "mlp.gate_proj", p + "mlp.up_proj", p + "mlp.down_proj");
    }

    private double[] experts(double[] x, String router, int count, boolean renorm,
                             java.util.function.IntFunction<double[]> expert) {
        double[] logits = matVec(router, x);
        double max = java.util.Arrays.stream(logits).max().orElseThrow();
        double sum = 0;
        double[] prob = new double[count];
        for (int e = 0; e < count; e++) {
            prob[e] = Math.exp(logits[e] - max);
            sum += prob[e];
        }
        for (int e = 0; e < count; e++) {
            prob[e] /= sum;
        }
        int k = num("num_experts_per_tok").intValue();
        Integer[] order = new Integer[count];
        for (int e = 0; e < count; e++) {
            order[e] = e;
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(prob[b], prob[a]));
        double chosen = 0;
        for (int j = 0; j < k; j++) {
            chosen += prob[order[j]];
        }
        double[] y = new double[h];
        TreeSet<Integer> route = new TreeSet<>();
        for (int j = 0; j < k; j++) {
            int e = order[j];
            route.add(e);
            double weight = renorm ? prob[e] / chosen : prob[e];
            double[] out = expert.apply(e);
            for (int i = 0; i < h; i++) {
                y[i] += weight * out[i];
            }
        }
        routes.add(new ArrayList<>(route));
        return y;
    }

    private double[] gated(double[] x, String gate, String up, String down) {
        double[] g = matVec(gate, x);
        double[] u = matVec(up, x);
        for (int i = 0; i < g.length; i++) {
            g[i] = act(g[i]) * u[i];
        }
        return matVec(down, g);
    }

    private double act(double v) {
        String name = String.valueOf(gemma() ? c.getOrDefault("hidden_activation", c.get("hidden_act"))
                : c.get("hidden_act"));
        switch (name) {
            case "silu":
                return v / (1 + Math.exp(-v));
            case "gelu_new":
            case "gelu_pytorch_tanh":
                return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            default:
                throw new IllegalArgumentException("activation " + name);
        }
    }

    private double[] act(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = act(v[i]);
        }
        return out;
    }

    private void headNorm(double[] x, int n, String name) {
        for (int head = 0; head < n; head++) {
            double[] part = java.util.Arrays.copyOfRange(x, head * hd, (head + 1) * hd);
            System.arraycopy(norm(part, name), 0, x, head * hd, hd);
        }
    }

    private double[] norm(double[] x, String name) {
        float[] g = w.get(name + ".weight");
        float[] b = w.get(name + ".bias");
        double[] out = new double[x.length];
        if (arch.equals("PhiForCausalLM")) {
            double mean = 0;
            for (double v : x) {
                mean += v;
            }
            mean /= x.length;
            double var = 0;
            for (double v : x) {
                var += (v - mean) * (v - mean);
            }
            var /= x.length;
            for (int i = 0; i < x.length; i++) {
                out[i] = (x[i] - mean) / Math.sqrt(var + eps) * g[i] + b[i];
            }
            return out;
        }
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * (gemma() ? 1 + g[i] : g[i]);
        }
        return out;
    }

    private double[] matVec(String name, double[] x) {
        float[] m = w.get(name + ".weight");
        return matVec(m, w.get(name + ".bias"), x, m.length / x.length);
    }

    private static double[] matVec(float[] m, float[] bias, double[] x, int rows) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = bias == null ? 0 : bias[r];
            for (int i = 0; i < x.length; i++) {
                s += m[r * x.length + i] * x[i];
            }
            out[r] = s;
        }
        return out;
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
