package io.github.locallm.djl;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from final logits, in Java: repetition penalty, then greedy choice or temperature,
 * top-k, top-p and min-p filtering followed by a draw from a seeded generator.
 *
 * <p>Not thread-safe: one sampler per generation.
 */
final class Sampler {
    /** How many recent tokens the repetition penalty looks at. */
    static final int PENALTY_WINDOW = 64;

    private final double temperature;
    private final int topK;
    private final double topP;
    private final double minP;
    private final double repeatPenalty;
    private final SplittableRandom random;

    /**
     * @param temperature 0 for greedy
     * @param topK 0 for no limit
     * @param topP 1 for no limit
     * @param minP 0 for no limit
     * @param repeatPenalty 1 for none
     * @param seed the seed of the generator
     */
    Sampler(double temperature, int topK, double topP, double minP, double repeatPenalty, long seed) {
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.minP = minP;
        this.repeatPenalty = repeatPenalty;
        this.random = new SplittableRandom(seed);
    }

    /**
     * Picks a token.
     *
     * @param logits the final logits; modified by the penalty
     * @param history the tokens so far (prompt and generated)
     * @param historyLength how many entries of {@code history} are used
     * @return the token id
     */
    int sample(float[] logits, int[] history, int historyLength) {
        if (repeatPenalty != 1.0) {
            penalize(logits, history, historyLength);
        }
        if (temperature <= 0) {
            return argmax(logits);
        }
        int[] candidates = sortedCandidates(logits);
        double[] p = new double[candidates.length];
        double max = logits[candidates[0]] / temperature;
        double sum = 0;
        for (int i = 0; i < candidates.length; i++) {
            p[i] = Math.exp(logits[candidates[i]] / temperature - max);
            sum += p[i];
        }
        int keep = candidates.length;
        if (topP < 1.0) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += p[i] / sum;
                if (cum >= topP) {
                    keep = i + 1;
                    break;
                }
            }
        }
        if (minP > 0) {
            // p[0] is the largest; drop everything below minP times it.
            double floor = minP * p[0];
            int i = 1;
            while (i < keep && p[i] >= floor) {
                i++;
            }
            keep = i;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) {
            total += p[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            r -= p[i];
            if (r < 0) {
                return candidates[i];
            }
        }
        return candidates[keep - 1];
    }

    private void penalize(float[] logits, int[] history, int historyLength) {
        int from = Math.max(0, historyLength - PENALTY_WINDOW);
        int[] seen = Arrays.copyOfRange(history, from, historyLength);
        Arrays.sort(seen);
        for (int i = 0; i < seen.length; i++) {
            int tok = seen[i];
            if ((i > 0 && seen[i - 1] == tok) || tok < 0 || tok >= logits.length) {
                continue;
            }
            float l = logits[tok];
            logits[tok] = (float) (l > 0 ? l / repeatPenalty : l * repeatPenalty);
        }
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** @return token ids by decreasing logit, cut to top-k when set */
    private int[] sortedCandidates(float[] logits) {
        int n = logits.length;
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            // Order-preserving int image of the float, then the id; sorting the longs sorts by logit.
            int bits = Float.floatToIntBits(logits[i]);
            int ordered = bits >= 0 ? bits : bits ^ 0x7fffffff;
            keys[i] = ((long) ordered << 32) | (0xffffffffL & ~i);
        }
        Arrays.sort(keys);
        int k = topK > 0 ? Math.min(topK, n) : n;
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = ~(int) keys[n - 1 - i];
        }
        return out;
    }
}
