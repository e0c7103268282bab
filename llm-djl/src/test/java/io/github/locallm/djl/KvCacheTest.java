package io.github.locallm.djl;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The key/value cache grows while generating and gives the logits of a full recomputation. */
class KvCacheTest {

    @Test
    void growingCacheMatchesAFullPrefill() {
        Backends.Parts p = Backends.sharedParts(TinyCheckpoints.Variant.QWEN2_F32);
        LlamaDecoder d = p.decoder();
        DjlBackend b = p.backend();
        int vocab = d.config().vocabSize();
        int[] prompt = b.tokenize("Hello, world! How are you today?");
        int total = LlamaDecoder.KvCache.INITIAL * 2 + 40;
        int[] seq = Arrays.copyOf(prompt, total);
        float[] last;
        int live = -1;
        try (LlamaDecoder.KvCache cache = d.newCache(total)) {
            assertThat(cache.allocated()).isEqualTo(LlamaDecoder.KvCache.INITIAL);
            float[] logits = d.forward(prompt, cache, false);
            for (int i = prompt.length; i < total; i++) {
                seq[i] = Sampler.argmax(logits);
                logits = d.forward(new int[] {seq[i]}, cache, false);
                if (i == prompt.length) {
                    live = p.liveArrays();
                }
                assertThat(p.liveArrays()).as("arrays after position %d", i).isEqualTo(live);
            }
            last = logits;
            assertThat(cache.length()).isEqualTo(total);
            assertThat(cache.allocated()).isEqualTo(total);
        }
        float[] full;
        try (LlamaDecoder.KvCache cache = d.newCache(total)) {
            full = d.forward(seq, cache, false);
        }
        double diff = 0;
        for (int j = 0; j < vocab; j++) {
            diff = Math.max(diff, Math.abs(full[j] - last[j]));
        }
        assertThat(diff).as("cached vs recomputed logits at position %d", total).isLessThan(1e-4);
    }
}
