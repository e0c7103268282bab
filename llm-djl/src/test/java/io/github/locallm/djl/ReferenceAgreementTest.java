package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.locallm.modelkit.ReferenceForward;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The NDArray decoder against the double-precision reference, over full logit vectors of every position
 * of a prompt and 32 greedily generated tokens, with the key/value cache in use.
 *
 * <p>F32 weights compute in F32: logits agree to 1e-4. F16 weights (and BF16 ones, which convert to F16
 * exactly) multiply in PyTorch's F16 kernel on activations rounded to F16, so each product carries F16
 * rounding: logits agree to a few hundredths, and the greedy choice agrees wherever the reference's best
 * logit leads the second by more than twice that.
 */
class ReferenceAgreementTest {
    /** Largest accepted difference of any logit with F32 weights; logits of the tiny models span a few units. */
    static final double TOLERANCE = 1e-4;
    /** Largest accepted difference of any logit with F16 products. */
    static final double HALF_TOLERANCE = 0.15;
    static final int GENERATED = 32;

    @ParameterizedTest
    @EnumSource(TinyCheckpoints.Variant.class)
    void logitsMatchTheReference(TinyCheckpoints.Variant v) {
        Backends.Parts parts = Backends.sharedParts(v);
        DjlBackend backend = parts.backend();
        LlamaDecoder decoder = parts.decoder();
        int vocab = decoder.config().vocabSize();
        int[] prompt = backend.tokenize("The quick brown fox jumps over the lazy dog. Hello, world!");
        int total = prompt.length + GENERATED;
        int[] seq = Arrays.copyOf(prompt, total);
        float[][] djl = new float[total][];
        try (LlamaDecoder.KvCache cache = decoder.newCache(total)) {
            float[] all = decoder.forward(prompt, cache, true);
            for (int i = 0; i < prompt.length; i++) {
                djl[i] = Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab);
            }
            for (int i = prompt.length; i < total; i++) {
                seq[i] = Sampler.argmax(djl[i - 1]);
                djl[i] = decoder.forward(new int[] {seq[i]}, cache, false);
            }
        }
        double[][] ref = new ReferenceForward(TinyCheckpoints.model(v),
                ReferenceForward.Arithmetic.valueOf(v.dtype.name())).logits(seq);
        double maxDiff = 0;
        double maxAbs = 0;
        double tolerance = v.dtype == io.github.locallm.modelkit.HfCheckpointWriter.DType.F32 ? TOLERANCE
                : HALF_TOLERANCE;
        int argmaxAgree = 0;
        int decisive = 0;
        for (int i = 0; i < total; i++) {
            int refBest = 0;
            for (int j = 0; j < vocab; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(djl[i][j] - ref[i][j]));
                maxAbs = Math.max(maxAbs, Math.abs(ref[i][j]));
                if (ref[i][j] > ref[i][refBest]) {
                    refBest = j;
                }
            }
            double second = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                if (j != refBest) {
                    second = Math.max(second, ref[i][j]);
                }
            }
            if (ref[i][refBest] - second > 2 * tolerance || tolerance == TOLERANCE) {
                decisive++;
                if (refBest == Sampler.argmax(djl[i])) {
                    argmaxAgree++;
                }
            }
        }
        System.out.printf("reference agreement %s (%s): %d positions x %d logits, max |diff| %.3g, max |logit| %.3g%n",
                v, v.dtype, total, vocab, maxDiff, maxAbs);
        assertThat(maxAbs).as("logits are not degenerate").isGreaterThan(1.0);
        assertThat(maxDiff).as("max abs logit difference for " + v).isLessThan(tolerance);
        assertThat(decisive).as("positions with a clear best token").isGreaterThan(total / 2);
        assertThat(argmaxAgree).isEqualTo(decisive);
    }
}
