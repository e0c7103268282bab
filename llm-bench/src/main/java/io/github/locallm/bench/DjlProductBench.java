package io.github.locallm.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import io.github.locallm.modelkit.LlamaConfig;
import io.github.locallm.modelkit.TinyModels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The ceiling of any decode through DJL's PyTorch engine on this machine: the weight products of one new token
 * alone (no attention, norms or activations), with the weight shapes of the benchmark model, in every kernel
 * form PyTorch offers through DJL for a one-row input. Each form's time per token says how many bytes per second
 * PyTorch reads weights at in that form; set against the machine's bandwidth limit, it bounds every PyTorch-based
 * decode from above.
 *
 * <p>Forms, all on the thread that created the weights, timed in turn within each repetition:
 * <ul>
 *   <li>{@code linear}: {@code linear(x[1,in], W[out,in])} with fused q/k/v and gate/up matrices (the decoder's
 *       form); {@code linear-sep}: the same with q, k, v, gate and up as five separate products (row views of
 *       the fused matrices);</li>
 *   <li>{@code mm-t}: {@code matmul(x[1,in], Wt[in,out])} with a pre-transposed contiguous copy of each weight
 *       (made as {@code transpose}, {@code flatten}, {@code reshape});</li>
 *   <li>{@code mv}: {@code matmul(W[out,in], x[in])} (a matrix-vector product); {@code mm-col}:
 *       {@code matmul(W[out,in], x[in,1])} (a column vector);</li>
 *   <li>F16 weights only: the activation rounded to F16 before each product and its result widened back (the
 *       decoder's F16 form), for {@code linear}, {@code mm-t} and {@code mv}; {@code linear-noconv} without the
 *       two conversions; {@code widen}: the F16 weight widened to F32 at every product.</li>
 * </ul>
 * PyTorch's thread count is process-wide: the parent sets it per child ({@code OMP_NUM_THREADS} and
 * {@code ai.djl.pytorch.num_threads}); this reports the count PyTorch says it uses. Not thread-safe; one run
 * per process.
 */
final class DjlProductBench {
    private DjlProductBench() {
    }

    /** One kernel form: computes every weight product of one token. */
    private interface Form {
        void token();
    }

    static Map<String, Object> run(Map<String, String> p) {
        String dtype = p.getOrDefault("dtype", "F32");
        int reps = Integer.parseInt(p.getOrDefault("reps", "12"));
        int warmups = Integer.parseInt(p.getOrDefault("warmups", "2"));
        boolean f16 = dtype.equals("F16");
        LlamaConfig c = p.getOrDefault("model", "full").equals("small")
                ? new LlamaConfig("llama", 364, 256, 704, 4, 8, 2, 10000.0, 1e-5, 4096, false, false, 0, 1)
                : TinyModels.benchmarkConfig();
        int hidden = c.hiddenSize();
        int inter = c.intermediateSize();
        int headDim = hidden / c.numHeads();
        int qkvRows = hidden + 2 * c.numKvHeads() * headDim;
        DataType type = f16 ? DataType.FLOAT16 : DataType.FLOAT32;
        Map<String, Object> r = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            int layers = c.numLayers();
            NDArray[] qkv = new NDArray[layers];
            NDArray[] o = new NDArray[layers];
            NDArray[] gu = new NDArray[layers];
            NDArray[] down = new NDArray[layers];
            NDArray[] qkvT = new NDArray[layers];
            NDArray[] oT = new NDArray[layers];
            NDArray[] guT = new NDArray[layers];
            NDArray[] downT = new NDArray[layers];
            NDList[] qkvSep = new NDList[layers];
            NDList[] guSep = new NDList[layers];
            for (int i = 0; i < layers; i++) {
                qkv[i] = weight(m, qkvRows, hidden, type);
                o[i] = weight(m, hidden, hidden, type);
                gu[i] = weight(m, 2 * inter, hidden, type);
                down[i] = weight(m, hidden, inter, type);
                qkvT[i] = transposed(qkv[i]);
                oT[i] = transposed(o[i]);
                guT[i] = transposed(gu[i]);
                downT[i] = transposed(down[i]);
                qkvSep[i] = qkv[i].split(new long[] {hidden, hidden + c.numKvHeads() * headDim}, 0);
                guSep[i] = gu[i].split(new long[] {inter}, 0);
            }
            NDArray head = weight(m, c.vocabSize(), hidden, type);
            NDArray headT = transposed(head);
            NDArray xh = m.randomUniform(-1f, 1f, new Shape(1, hidden));
            NDArray xi = m.randomUniform(-1f, 1f, new Shape(1, inter));
            long elements = (long) layers * ((long) qkvRows * hidden + (long) hidden * hidden + 2L * inter * hidden
                    + (long) hidden * inter) + (long) c.vocabSize() * hidden;
            long bytes = elements * (f16 ? 2 : 4);

            Map<String, Form> forms = new LinkedHashMap<>();
            if (!f16) {
                forms.put("linear", () -> {
                    for (int i = 0; i < layers; i++) {
                        lin(xh, qkv[i]);
                        lin(xh, o[i]);
                        lin(xh, gu[i]);
                        lin(xi, down[i]);
                    }
                    lin(xh, head);
                });
                forms.put("linear-sep", () -> {
                    for (int i = 0; i < layers; i++) {
                        for (NDArray w : qkvSep[i]) {
                            lin(xh, w);
                        }
                        lin(xh, o[i]);
                        for (NDArray w : guSep[i]) {
                            lin(xh, w);
                        }
                        lin(xi, down[i]);
                    }
                    lin(xh, head);
                });
                forms.put("mm-t", () -> {
                    for (int i = 0; i < layers; i++) {
                        xh.matMul(qkvT[i]);
                        xh.matMul(oT[i]);
                        xh.matMul(guT[i]);
                        xi.matMul(downT[i]);
                    }
                    xh.matMul(headT);
                });
                NDArray vh = xh.reshape(hidden);
                NDArray vi = xi.reshape(inter);
                forms.put("mv", () -> {
                    for (int i = 0; i < layers; i++) {
                        qkv[i].matMul(vh);
                        o[i].matMul(vh);
                        gu[i].matMul(vh);
                        down[i].matMul(vi);
                    }
                    head.matMul(vh);
                });
                NDArray ch = xh.reshape(hidden, 1);
                NDArray ci = xi.reshape(inter, 1);
                forms.put("mm-col", () -> {
                    for (int i = 0; i < layers; i++) {
                        qkv[i].matMul(ch);
                        o[i].matMul(ch);
                        gu[i].matMul(ch);
                        down[i].matMul(ci);
                    }
                    head.matMul(ch);
                });
            } else {
                NDArray hh = xh.toType(DataType.FLOAT16, false);
                NDArray hi = xi.toType(DataType.FLOAT16, false);
                forms.put("linear", () -> {
                    for (int i = 0; i < layers; i++) {
                        conv(lin(half(xh), qkv[i]));
                        conv(lin(half(xh), o[i]));
                        conv(lin(half(xh), gu[i]));
                        conv(lin(half(xi), down[i]));
                    }
                    conv(lin(half(xh), head));
                });
                forms.put("linear-sep", () -> {
                    for (int i = 0; i < layers; i++) {
                        for (NDArray w : qkvSep[i]) {
                            conv(lin(half(xh), w));
                        }
                        conv(lin(half(xh), o[i]));
                        for (NDArray w : guSep[i]) {
                            conv(lin(half(xh), w));
                        }
                        conv(lin(half(xi), down[i]));
                    }
                    conv(lin(half(xh), head));
                });
                forms.put("linear-noconv", () -> {
                    for (int i = 0; i < layers; i++) {
                        lin(hh, qkv[i]);
                        lin(hh, o[i]);
                        lin(hh, gu[i]);
                        lin(hi, down[i]);
                    }
                    lin(hh, head);
                });
                forms.put("mm-t", () -> {
                    for (int i = 0; i < layers; i++) {
                        conv(half(xh).matMul(qkvT[i]));
                        conv(half(xh).matMul(oT[i]));
                        conv(half(xh).matMul(guT[i]));
                        conv(half(xi).matMul(downT[i]));
                    }
                    conv(half(xh).matMul(headT));
                });
                forms.put("mv", () -> {
                    for (int i = 0; i < layers; i++) {
                        conv(qkv[i].matMul(half(xh).reshape(hidden)));
                        conv(o[i].matMul(half(xh).reshape(hidden)));
                        conv(gu[i].matMul(half(xh).reshape(hidden)));
                        conv(down[i].matMul(half(xi).reshape(inter)));
                    }
                    conv(head.matMul(half(xh).reshape(hidden)));
                });
                forms.put("widen", () -> {
                    for (int i = 0; i < layers; i++) {
                        lin(xh, conv(qkv[i]));
                        lin(xh, conv(o[i]));
                        lin(xh, conv(gu[i]));
                        lin(xi, conv(down[i]));
                    }
                    lin(xh, conv(head));
                });
            }
            List<String> names = new ArrayList<>(forms.keySet());
            Map<String, List<Double>> ms = new LinkedHashMap<>();
            names.forEach(n -> ms.put(n, new ArrayList<>()));
            for (int rep = -warmups; rep < reps; rep++) {
                for (int k = 0; k < names.size(); k++) {
                    // The order rotates every repetition, so no form always follows the same one.
                    String name = names.get(Math.floorMod(k + rep, names.size()));
                    long t0;
                    long t1;
                    try (NDScope scope = new NDScope()) {
                        scope.suppressNotUsedWarning();
                        t0 = System.nanoTime();
                        forms.get(name).token();
                        t1 = System.nanoTime();
                    }
                    if (rep >= 0) {
                        ms.get(name).add((t1 - t0) / 1e6);
                    }
                }
            }
            r.put("dtype", dtype);
            r.put("torchThreads", (double) ai.djl.pytorch.jni.JniUtils.getNumThreads());
            r.put("bytesPerToken", (double) bytes);
            r.put("forms", String.join(",", names));
            String best = null;
            for (String n : names) {
                double median = Stats.median(ms.get(n));
                double min = ms.get(n).stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
                r.put("ms." + n, median);
                r.put("msMin." + n, min);
                r.put("gbps." + n, bytes / median / 1e6);
                if (best == null || median < (double) r.get("ms." + best)) {
                    best = n;
                }
            }
            r.put("best", best);
            r.put("bestGbps", bytes / (double) r.get("ms." + best) / 1e6);
            r.put("peakRss", (double) Probe.peakRssBytes());
        }
        return r;
    }

    private static NDArray weight(NDManager m, long rows, long cols, DataType type) {
        NDArray w = m.randomUniform(-0.05f, 0.05f, new Shape(rows, cols));
        if (type == DataType.FLOAT32) {
            return w;
        }
        NDArray h = w.toType(type, false);
        w.close();
        return h;
    }

    /**
     * A contiguous {@code [in, out]} copy of an {@code [out, in]} matrix: a transposed view is flattened (which
     * copies it in the transposed order) and viewed in two dimensions again.
     */
    private static NDArray transposed(NDArray w) {
        Shape s = w.getShape();
        try (NDArray view = w.transpose(); NDArray flat = view.flatten()) {
            return flat.reshape(s.get(1), s.get(0));
        }
    }

    private static NDArray lin(NDArray x, NDArray w) {
        return Linear.linear(x, w).singletonOrThrow();
    }

    private static NDArray half(NDArray x) {
        return x.toType(DataType.FLOAT16, false);
    }

    private static NDArray conv(NDArray x) {
        return x.toType(DataType.FLOAT32, false);
    }

    /**
     * The markdown lines of the weight-product ceiling: per dtype and thread count, each form's median time per
     * token and its share of the run's bandwidth limit; empty when the children did not run.
     */
    static String markdown(BenchMain b) {
        double bw = b.bestBandwidth();
        StringBuilder md = new StringBuilder();
        for (String dtype : List.of("F32", "F16")) {
            for (int threads : new int[] {1, 2}) {
                String key = "djlproducts." + dtype + ".t" + threads;
                List<Map<String, Object>> runs = b.runs.getOrDefault(key, List.of());
                if (runs.isEmpty()) {
                    continue;
                }
                if (md.length() == 0) {
                    md.append("PyTorch weight products alone (the ceiling of any decode through DJL's PyTorch engine:"
                            + " every weight product of one new token of the workload model, one-row input, nothing"
                            + " else; median ms per token over the children's repetitions; share = matrix bytes per"
                            + " token / time / best bandwidth trial ").append(Report.f(bw, 1)).append(" GB/s):\n\n")
                            .append("| dtype | PyTorch threads | form | ms per token | GB/s | share of the limit |\n")
                            .append("|---|---|---|---|---|---|\n");
                }
                String forms = String.valueOf(runs.get(0).get("forms"));
                double bytes = b.value(key, "bytesPerToken");
                for (String form : forms.split(",")) {
                    double ms = b.value(key, "ms." + form);
                    md.append(String.format(Locale.ROOT, "| %s | %.0f | `%s` | %.1f | %.1f | %.2f× |%n", dtype,
                            b.value(key, "torchThreads"), form, ms, bytes / ms / 1e6, bytes / ms / 1e6 / bw));
                }
            }
        }
        if (md.length() == 0) {
            return "";
        }
        md.append('\n');
        for (String dtype : List.of("F32", "F16")) {
            // The best form and thread count of each dtype, beside what the decoder itself reaches.
            String bestKey = null;
            String bestForm = null;
            double bestMs = Double.POSITIVE_INFINITY;
            for (int threads : new int[] {1, 2}) {
                String key = "djlproducts." + dtype + ".t" + threads;
                List<Map<String, Object>> runs = b.runs.getOrDefault(key, List.of());
                if (runs.isEmpty()) {
                    continue;
                }
                for (String form : String.valueOf(runs.get(0).get("forms")).split(",")) {
                    double ms = b.value(key, "ms." + form);
                    if (ms < bestMs) {
                        bestMs = ms;
                        bestKey = key;
                        bestForm = form;
                    }
                }
            }
            if (bestKey != null) {
                double gbps = b.value(bestKey, "bytesPerToken") / bestMs / 1e6;
                md.append(String.format(Locale.ROOT, "PyTorch weight products alone, share of the limit, %s: %.2f×"
                        + " (best form `%s`, %.0f PyTorch thread(s), %.1f GB/s); the DJL decode of %s reaches %.2f×"
                        + " of the same limit.%n%n", dtype, gbps / bw, bestForm, b.value(bestKey, "torchThreads"),
                        gbps, dtype, decodeShare(b, dtype, bw)));
            }
        }
        return md.toString();
    }

    /** The DJL decode's median tokens/s times its weight bytes per token over the bandwidth, NaN when absent. */
    private static double decodeShare(BenchMain b, String dtype, double bw) {
        if (b.workload == null) {
            return Double.NaN;
        }
        long bytes = dtype.equals("F32") ? b.workload.weightBytesPerToken(false) : b.workload.weightBytesPerTokenF16();
        return b.value("djl." + dtype, "genTps") * bytes / 1e9 / bw;
    }
}
