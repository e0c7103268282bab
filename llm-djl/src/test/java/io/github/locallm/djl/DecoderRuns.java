package io.github.locallm.djl;

/** Runs the decoder directly, for tests that need token ids. */
final class DecoderRuns {
    private DecoderRuns() {
    }

    /**
     * @param decoder the decoder
     * @param prompt prompt ids
     * @param n tokens to generate
     * @param masked token ids never chosen (as llama.cpp's ignore-eos does for end tokens)
     * @return the greedy continuation
     */
    static int[] greedy(LlamaDecoder decoder, int[] prompt, int n, int[] masked) {
        int[] out = new int[n];
        try (LlamaDecoder.KvCache cache = decoder.newCache(prompt.length + n)) {
            float[] logits = decoder.forward(prompt, cache, false);
            for (int i = 0; i < n; i++) {
                for (int m : masked) {
                    logits[m] = Float.NEGATIVE_INFINITY;
                }
                out[i] = Sampler.argmax(logits);
                if (i + 1 < n) {
                    logits = decoder.forward(new int[] {out[i]}, cache, false);
                }
            }
        }
        return out;
    }
}
