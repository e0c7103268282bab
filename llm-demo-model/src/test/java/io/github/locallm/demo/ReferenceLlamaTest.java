package io.github.locallm.demo;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ReferenceLlamaTest {

    @Test
    void roundsToHalfPrecisionToNearestEven() {
        assertThat(ReferenceLlama.toHalfPrecision(1.0f)).isEqualTo(1.0f);
        // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even mantissa, 1.
        assertThat(ReferenceLlama.toHalfPrecision(1.0f + 0x1p-11f)).isEqualTo(1.0f);
        // 1 + 3 * 2^-11 lies halfway between 1 + 2^-10 and 1 + 2^-9: the even one is 1 + 2^-9.
        assertThat(ReferenceLlama.toHalfPrecision(1.0f + 3 * 0x1p-11f)).isEqualTo(1.0f + 0x1p-9f);
        assertThat(ReferenceLlama.toHalfPrecision(-0.1f)).isEqualTo(GgufModel.halfToFloat((short) 0xAE66));
    }

    @Test
    void q8BlocksKeepEachValueWithinHalfAStep() {
        Random random = new Random(1);
        float[] x = new float[64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        float[] q = ReferenceLlama.quantizeDequantize(x);
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
}
