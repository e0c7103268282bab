package io.github.locallm.modelkit;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ReferenceForwardTest {

    @Test
    void roundsToHalfPrecisionToNearestEven() {
        assertThat(ReferenceForward.toHalfPrecision(1.0f)).isEqualTo(1.0f);
        // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa, 1.
        assertThat(ReferenceForward.toHalfPrecision(1.0f + 0x1p-11f)).isEqualTo(1.0f);
        // 1 + 3 * 2^-11 lies halfway between 1 + 2^-10 and 1 + 2^-9: the even one is 1 + 2^-9.
        assertThat(ReferenceForward.toHalfPrecision(1.0f + 3 * 0x1p-11f)).isEqualTo(1.0f + 0x1p-9f);
        // the F16 bits 0xAE66 widened to a float
        assertThat(ReferenceForward.toHalfPrecision(-0.1f)).isEqualTo(Float.intBitsToFloat(0xBDCCC000));
        // subnormal halves are multiples of 2^-24: 1.5 * 2^-24 is a tie that goes to 2 * 2^-24
        assertThat(ReferenceForward.toHalfPrecision(3 * 0x1p-25f)).isEqualTo(0x1p-23f);
        assertThat(ReferenceForward.toHalfPrecision(70000f)).isInfinite();
    }

    @Test
    void q8BlocksKeepEachValueWithinHalfAStep() {
        Random random = new Random(1);
        float[] x = new float[64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        float[] q = ReferenceForward.quantizeDequantize(x);
        for (int block = 0; block < 2; block++) {
            float amax = 0;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(x[block * 32 + i]));
            }
            float step = amax / 127f;
            for (int i = 0; i < 32; i++) {
                assertThat(q[block * 32 + i]).isCloseTo(x[block * 32 + i], within(step * 0.51f));
            }
        }
        assertThat(q).isNotEqualTo(x);
    }

    @Test
    void greedyDecodingFollowsTheArgmaxOfTheSequenceLogits() {
        CheckpointModel model = TinyModels.gqa();
        ReferenceForward reference = new ReferenceForward(model);
        int[] prompt = model.tokenizer().encode("The quick brown fox");
        int[] generated = reference.greedy(prompt, 6);
        int[] seq = Arrays.copyOf(prompt, prompt.length + generated.length);
        System.arraycopy(generated, 0, seq, prompt.length, generated.length);
        double[][] logits = reference.logits(seq);
        for (int i = 0; i < generated.length; i++) {
            double[] row = logits[prompt.length - 1 + i];
            int best = 0;
            for (int v = 1; v < row.length; v++) {
                if (row[v] > row[best]) {
                    best = v;
                }
            }
            assertThat(generated[i]).as("token " + i).isEqualTo(best);
        }
    }

    @Test
    void rejectsInverseFrequenciesOfTheWrongLength() {
        assertThatThrownBy(() -> new ReferenceForward(TinyModels.llama(), ReferenceForward.Arithmetic.F32,
                new double[1])).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("inverse frequencies");
    }
}
