package io.github.locallm.demo;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.github.locallm.modelkit.LlamaConfig;
import io.github.locallm.modelkit.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * Trains a Llama-architecture decoder on DJL's PyTorch engine, with the same arithmetic the inference
 * backends use: RMSNorm, Hugging Face "rotate half" RoPE, causal multi-head attention, SwiGLU and an untied
 * output projection.
 *
 * <p>Weights live in one manager as leaf arrays that require gradients. Every step runs in a sub-manager,
 * and every op is called on an activation (never on a weight) so that its result belongs to the step's
 * manager and is freed with it. Linear weights are kept as {@code [in, out]} so that no op ever has to
 * transpose a weight; {@link #exportTensors()} turns them into Hugging Face {@code [out, in]} tensors.
 *
 * <p>Public so that test suites can train a tiny model on exactly the exchanges they check; the demo model
 * itself is trained by {@link TrainDemoModel}.
 *
 * <p>Not thread-safe: one training run per instance. {@link #stop()} may be called from any thread.
 */
public final class LlamaTrainer implements AutoCloseable {

    /** One training sequence: token ids and, per position, whether predicting the next token is trained. */
    public record Sequence(int[] tokens, boolean[] trainedTarget) {
    }

    /** Progress of one optimizer step. */
    public record Step(int step, float loss, float gradNorm, float learningRate) {
    }

    /** Hyper-parameters of a run. */
    public record Settings(int steps, int batchSize, float peakLearningRate, float finalLearningRate, int warmupSteps,
                    float clipNorm, float implausibleNorm, int maxSkippedSteps, long seed) {
    }

    private final LlamaConfig config;
    private final NDManager manager;
    private final Map<String, NDArray> params = new LinkedHashMap<>();
    private final AtomicBoolean stopRequested = new AtomicBoolean();

    /**
     * Creates the weights of a new model, initialised from the seed.
     *
     * @param config the architecture (untied, bias-free, as many key/value heads as heads)
     * @param seed seeds the initial weights and PyTorch's generator
     */
    public LlamaTrainer(LlamaConfig config, long seed) {
        if (config.tieWordEmbeddings() || config.attentionBias() || config.numKvHeads() != config.numHeads()) {
            throw new IllegalArgumentException("the demo trainer supports untied, bias-free, full-head Llama only: "
                    + config);
        }
        this.config = config;
        Engine engine = Engine.getEngine("PyTorch");
        engine.setRandomSeed((int) seed);
        this.manager = engine.newBaseManager(Device.cpu());
        initialize(new Random(seed));
    }

    /** Asks a running {@link #train} to return after the current step. */
    public void stop() {
        stopRequested.set(true);
    }

    private void initialize(Random random) {
        int h = config.hiddenSize();
        int f = config.intermediateSize();
        int v = config.vocabSize();
        float std = 0.02f;
        // Output projections of residual branches start smaller, as GPT-2 does, so that the stack begins
        // close to the identity and deep signals stay well scaled.
        float residualStd = (float) (std / Math.sqrt(2.0 * config.numLayers()));
        add("embed", normal(random, v * h, std), v, h);
        for (int l = 0; l < config.numLayers(); l++) {
            add(l + ".attn_norm", ones(h), h);
            add(l + ".wq", normal(random, h * h, std), h, h);
            add(l + ".wk", normal(random, h * h, std), h, h);
            add(l + ".wv", normal(random, h * h, std), h, h);
            add(l + ".wo", normal(random, h * h, residualStd), h, h);
            add(l + ".ffn_norm", ones(h), h);
            add(l + ".w_gate", normal(random, h * f, std), h, f);
            add(l + ".w_up", normal(random, h * f, std), h, f);
            add(l + ".w_down", normal(random, f * h, residualStd), f, h);
        }
        add("norm", ones(h), h);
        add("lm_head", normal(random, h * v, std), h, v);
    }

    private void add(String name, float[] data, long... shape) {
        NDArray array = manager.create(data, new Shape(shape));
        array.setRequiresGradient(true);
        params.put(name, array);
    }

    private static float[] normal(Random random, int n, float std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (random.nextGaussian() * std);
        }
        return a;
    }

    private static float[] ones(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, 1f);
        return a;
    }

    /**
     * Runs Adam over shuffled mini-batches with a linear warm-up and a cosine decay of the learning rate,
     * clipping the global gradient norm and skipping (and reporting) any step whose gradients are not finite.
     *
     * @return the mean loss of the last steps
     */
    public float train(List<Sequence> data, Settings settings, Consumer<Step> progress, Consumer<String> skippedLog) {
        return train(epoch -> data, settings, progress, skippedLog);
    }

    /**
     * Like {@link #train(List, Settings, Consumer, Consumer)}, with the data of each pass over the corpus built
     * afresh (multi-turn conversations drawn anew each epoch). Each epoch's sequences are shuffled, grouped into
     * batches of similar length so that little padding is computed, and the batches are visited in random order.
     *
     * @param epochs the sequences of the given epoch (0, 1, ...)
     * @return the mean loss of the last steps
     */
    public float train(IntFunction<List<Sequence>> epochs, Settings settings, Consumer<Step> progress,
                Consumer<String> skippedLog) {
        Tracker schedule = update -> learningRate(settings, update);
        Optimizer adam = Optimizer.adam()
                .optLearningRateTracker(schedule)
                .optBeta1(0.9f)
                .optBeta2(0.98f)
                .optEpsilon(1e-8f)
                .build();
        Random shuffle = new Random(settings.seed() ^ 0x5DEECE66DL);
        List<List<Sequence>> batches = new ArrayList<>();
        int cursor = 0;
        int epoch = 0;
        float recentLoss = Float.NaN;
        float lossSum = 0;
        int lossCount = 0;
        int skipped = 0;
        for (int step = 0; step < settings.steps() && !stopRequested.get(); step++) {
            if (cursor == batches.size()) {
                batches = batches(epochs.apply(epoch++), settings.batchSize(), shuffle);
                cursor = 0;
            }
            List<Sequence> batch = batches.get(cursor++);
            float loss;
            float norm;
            try (NDManager stepManager = manager.newSubManager()) {
                try (GradientCollector collector = manager.getEngine().newGradientCollector()) {
                    NDArray lossArray = loss(stepManager, batch);
                    collector.backward(lossArray);
                    loss = lossArray.getFloat();
                }
                List<NDArray> grads = new ArrayList<>(params.size());
                double sumSquares = 0;
                for (NDArray p : params.values()) {
                    NDArray g = p.getGradient();
                    stepManager.tempAttachAll(g);
                    grads.add(g);
                    try (NDArray sq = g.square().sum()) {
                        sumSquares += sq.getFloat();
                    }
                }
                norm = (float) Math.sqrt(sumSquares);
                if (!Float.isFinite(loss) || !Float.isFinite(norm) || norm > settings.implausibleNorm()) {
                    // A non-finite gradient is never applied: clear it, skip the step, and give up if it recurs.
                    // PyTorch's CPU backward has been seen to return NaN, or absurdly large values, for one step
                    // in a few hundred (in the attention of one layer, not reproducibly); healthy norms here stay
                    // below 10, so a norm beyond implausibleNorm is treated the same way.
                    List<String> bad = new ArrayList<>();
                    int i = 0;
                    for (String name : params.keySet()) {
                        NDArray g = grads.get(i++);
                        try (NDArray nonFinite = g.isNaN().logicalOr(g.isInfinite()).any()) {
                            if (nonFinite.getBoolean()) {
                                bad.add(name);
                            }
                        }
                        g.set(new NDIndex("..."), 0f);
                    }
                    skipped++;
                    skippedLog.accept("step " + (step + 1) + ": loss " + loss + ", gradient norm " + norm
                            + ", non-finite gradients in " + bad + "; step skipped");
                    if (skipped > settings.maxSkippedSteps()) {
                        throw new IllegalStateException("training diverged: " + skipped
                                + " steps had non-finite gradients; retry with a lower learning rate or another seed");
                    }
                    continue;
                }
                float scale = norm > settings.clipNorm() ? settings.clipNorm() / norm : 1f;
                int i = 0;
                for (Map.Entry<String, NDArray> e : params.entrySet()) {
                    NDArray g = grads.get(i++);
                    if (scale != 1f) {
                        try (NDArray scaled = g.mul(scale)) {
                            adam.update(e.getKey(), e.getValue(), scaled);
                        }
                    } else {
                        adam.update(e.getKey(), e.getValue(), g);
                    }
                    // PyTorch accumulates gradients across backward passes; clear them for the next step.
                    g.muli(0f);
                }
            }
            lossSum += loss;
            lossCount++;
            if (lossCount == 20) {
                recentLoss = lossSum / lossCount;
                lossSum = 0;
                lossCount = 0;
            }
            progress.accept(new Step(step + 1, loss, norm, learningRate(settings, step)));
        }
        return lossCount > 0 && Float.isNaN(recentLoss) ? lossSum / lossCount : recentLoss;
    }

    /** Shuffles, sorts by length (stable, so equal lengths stay shuffled), cuts into batches, shuffles the batches. */
    private static List<List<Sequence>> batches(List<Sequence> data, int batchSize, Random shuffle) {
        if (data.isEmpty()) {
            throw new IllegalArgumentException("an epoch without training sequences");
        }
        List<Sequence> order = new ArrayList<>(data);
        java.util.Collections.shuffle(order, shuffle);
        order.sort(java.util.Comparator.comparingInt(s -> s.tokens().length));
        List<List<Sequence>> out = new ArrayList<>();
        for (int i = 0; i < order.size(); i += batchSize) {
            out.add(order.subList(i, Math.min(order.size(), i + batchSize)));
        }
        java.util.Collections.shuffle(out, shuffle);
        return out;
    }

    private static float learningRate(Settings s, int update) {
        if (update < s.warmupSteps()) {
            return s.peakLearningRate() * (update + 1) / s.warmupSteps();
        }
        double progress = Math.min(1.0, (update - s.warmupSteps()) / (double) Math.max(1, s.steps() - s.warmupSteps()));
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return (float) (s.finalLearningRate() + (s.peakLearningRate() - s.finalLearningRate()) * cosine);
    }

    /** Mean cross-entropy over the trained targets of a padded batch. */
    private NDArray loss(NDManager m, List<Sequence> batch) {
        int b = batch.size();
        int t = 0;
        for (Sequence s : batch) {
            t = Math.max(t, s.tokens().length - 1);
        }
        int[][] inputs = new int[b][t];
        int[][] targets = new int[b][t];
        float[] mask = new float[b * t];
        for (int i = 0; i < b; i++) {
            int[] tok = batch.get(i).tokens();
            boolean[] trained = batch.get(i).trainedTarget();
            for (int j = 0; j + 1 < tok.length; j++) {
                inputs[i][j] = tok[j];
                targets[i][j] = tok[j + 1];
                mask[i * t + j] = trained[j] ? 1f : 0f;
            }
        }
        NDArray logits = forward(m, m.create(inputs));
        NDArray logProbs = logits.logSoftmax(-1);
        NDArray picked = logProbs.mul(m.create(targets).oneHot(config.vocabSize())).sum(new int[] {-1});
        NDArray maskArray = m.create(mask, new Shape(b, t));
        float count = 0;
        for (float x : mask) {
            count += x;
        }
        return picked.mul(maskArray).sum().div(-count);
    }

    /** Logits {@code [batch, time, vocab]} for token ids {@code [batch, time]}. */
    NDArray forward(NDManager m, NDArray tokenIds) {
        long b = tokenIds.getShape().get(0);
        long t = tokenIds.getShape().get(1);
        int h = config.hiddenSize();
        int heads = config.numHeads();
        int hd = config.headDim();
        NDArray x = tokenIds.oneHot(config.vocabSize()).matMul(params.get("embed"));
        NDArray[] rope = ropeTables(m, (int) t);
        NDArray causal = causalMask(m, (int) t);
        for (int l = 0; l < config.numLayers(); l++) {
            NDArray a = rmsNorm(x, params.get(l + ".attn_norm"));
            NDArray q = a.matMul(params.get(l + ".wq")).reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
            NDArray k = a.matMul(params.get(l + ".wk")).reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
            NDArray v = a.matMul(params.get(l + ".wv")).reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
            q = applyRope(q, rope[0], rope[1], hd);
            k = applyRope(k, rope[0], rope[1], hd);
            NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div((float) Math.sqrt(hd)).add(causal);
            NDArray attended = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, t, h);
            x = x.add(attended.matMul(params.get(l + ".wo")));
            NDArray n = rmsNorm(x, params.get(l + ".ffn_norm"));
            NDArray gate = n.matMul(params.get(l + ".w_gate"));
            NDArray up = n.matMul(params.get(l + ".w_up"));
            NDArray act = gate.mul(Activation.sigmoid(gate)).mul(up);
            x = x.add(act.matMul(params.get(l + ".w_down")));
        }
        return rmsNorm(x, params.get("norm")).matMul(params.get("lm_head"));
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray rms = x.square().mean(new int[] {-1}, true).add((float) config.rmsNormEps()).sqrt();
        return x.div(rms).mul(weight);
    }

    /** Hugging Face RoPE: {@code x * cos + rotate_half(x) * sin}, the halves of each head rotating together. */
    private static NDArray applyRope(NDArray x, NDArray cos, NDArray sin, int hd) {
        NDArray first = x.get(new NDIndex("..., :" + hd / 2));
        NDArray second = x.get(new NDIndex("..., " + hd / 2 + ":"));
        NDArray rotated = second.neg().concat(first, -1);
        return x.mul(cos).add(rotated.mul(sin));
    }

    private NDArray[] ropeTables(NDManager m, int t) {
        int hd = config.headDim();
        float[] cos = new float[t * hd];
        float[] sin = new float[t * hd];
        for (int pos = 0; pos < t; pos++) {
            for (int i = 0; i < hd / 2; i++) {
                double invFreq = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / hd);
                double angle = pos * invFreq;
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[pos * hd + i] = c;
                cos[pos * hd + i + hd / 2] = c;
                sin[pos * hd + i] = s;
                sin[pos * hd + i + hd / 2] = s;
            }
        }
        return new NDArray[] {m.create(cos, new Shape(t, hd)), m.create(sin, new Shape(t, hd))};
    }

    private static NDArray causalMask(NDManager m, int t) {
        float[] mask = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                // Large but finite: exp underflows to exactly 0 as with -inf, and no inf ever enters the graph.
                mask[i * t + j] = -1e9f;
            }
        }
        return m.create(mask, new Shape(t, t));
    }

    /** The trained weights as Hugging Face Llama tensors ({@code [out, in]} linear weights). */
    public List<Tensor> exportTensors() {
        int h = config.hiddenSize();
        int f = config.intermediateSize();
        int v = config.vocabSize();
        List<Tensor> out = new ArrayList<>();
        out.add(new Tensor("model.embed_tokens.weight", new long[] {v, h}, values("embed")));
        for (int l = 0; l < config.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            out.add(new Tensor(p + "input_layernorm.weight", new long[] {h}, values(l + ".attn_norm")));
            out.add(new Tensor(p + "self_attn.q_proj.weight", new long[] {h, h}, transposed(l + ".wq", h, h)));
            out.add(new Tensor(p + "self_attn.k_proj.weight", new long[] {h, h}, transposed(l + ".wk", h, h)));
            out.add(new Tensor(p + "self_attn.v_proj.weight", new long[] {h, h}, transposed(l + ".wv", h, h)));
            out.add(new Tensor(p + "self_attn.o_proj.weight", new long[] {h, h}, transposed(l + ".wo", h, h)));
            out.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {h}, values(l + ".ffn_norm")));
            out.add(new Tensor(p + "mlp.gate_proj.weight", new long[] {f, h}, transposed(l + ".w_gate", h, f)));
            out.add(new Tensor(p + "mlp.up_proj.weight", new long[] {f, h}, transposed(l + ".w_up", h, f)));
            out.add(new Tensor(p + "mlp.down_proj.weight", new long[] {h, f}, transposed(l + ".w_down", f, h)));
        }
        out.add(new Tensor("model.norm.weight", new long[] {h}, values("norm")));
        out.add(new Tensor("lm_head.weight", new long[] {v, h}, transposed("lm_head", h, v)));
        return out;
    }

    private float[] values(String name) {
        return params.get(name).toFloatArray();
    }

    /** Reads an {@code [rows, cols]} weight and returns it as {@code [cols, rows]}. */
    private float[] transposed(String name, int rows, int cols) {
        float[] a = values(name);
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
    }

    /** Counts the trainable scalars. */
    public long parameterCount() {
        long n = 0;
        for (NDArray p : params.values()) {
            n += p.size();
        }
        return n;
    }

    @Override
    public void close() {
        manager.close();
    }
}
