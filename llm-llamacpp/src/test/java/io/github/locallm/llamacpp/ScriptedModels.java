package io.github.locallm.llamacpp;

import io.github.locallm.modelkit.BpeTokenizer;
import io.github.locallm.modelkit.CheckpointModel;
import io.github.locallm.modelkit.GgufWriter;
import io.github.locallm.modelkit.LlamaConfig;
import io.github.locallm.modelkit.TinyModels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Tiny GGUF models with a chosen behaviour, for tests of what the backend does with special tokens and grammars.
 *
 * <p>The vocabulary is the shared tiny tokenizer's plus extra tokens of a given type ({@link #CONTROL} or
 * {@link #USER_DEFINED}, as real vocabularies hold chat-format markup). The weights make the model a lookup
 * table: every layer adds nothing to the residual stream (zero output projections), so the state after a token is
 * its embedding, and the embeddings are orthogonal for the tokens of a {@code chain}. The next token is then a
 * fixed function of the current one: after any token outside the chain comes the chain's first token, after each
 * chain token the next one. {@code favoured} tokens get a high score after every token, lower than the chain's:
 * under a grammar they win wherever the grammar allows them. Everything else scores zero, so a grammar (or the
 * sampler's randomness) decides.
 */
final class ScriptedModels {
    static final int NORMAL = 1;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;

    private static final float CHAIN = 4f;
    private static final float FAVOURED = 2f;

    private ScriptedModels() {
    }

    /** The tiny tokenizer with the extra tokens appended (in map order). */
    static BpeTokenizer tokenizer(Map<String, Integer> extra) {
        BpeTokenizer base = TinyModels.tokenizer();
        List<String> tokens = new ArrayList<>(base.tokens());
        for (String t : extra.keySet()) {
            if (!tokens.contains(t)) {
                tokens.add(t);
            }
        }
        return BpeTokenizer.of(tokens, base.merges());
    }

    /**
     * Writes the model.
     *
     * @param file     where
     * @param template the chat template
     * @param extra    extra token texts and their GGUF token types
     * @param chain    token ids in the order the model writes them (distinct, at most 63)
     * @param chainEnd whether the end-of-turn token follows the chain's last token
     * @param favoured token ids that score high after every token
     * @return the file
     */
    static Path write(Path file, String template, Map<String, Integer> extra, List<Integer> chain, boolean chainEnd,
                      Set<Integer> favoured) {
        return write(file, template, extra, chain, chainEnd, favoured, Map.of());
    }

    /**
     * Writes the model with more metadata (for example the keys naming fill-in-the-middle tokens).
     *
     * @param metadata metadata to add, as {@link GgufWriter#write(CheckpointModel, Path, GgufWriter.Quantization,
     *                 Map)} takes it
     * @return the file
     */
    static Path write(Path file, String template, Map<String, Integer> extra, List<Integer> chain, boolean chainEnd,
                      Set<Integer> favoured, Map<String, ?> metadata) {
        BpeTokenizer tok = tokenizer(extra);
        int hidden = 64;
        if (chain.size() >= hidden || Set.copyOf(chain).size() != chain.size()) {
            throw new IllegalArgumentException("the chain must hold distinct tokens, fewer than " + hidden);
        }
        int vocab = tok.size();
        int eos = tok.tokenId(BpeTokenizer.IM_END);
        LlamaConfig config = new LlamaConfig("llama", vocab, hidden, 128, 1, 4, 4, 10000.0, 1e-5, 8192, false,
                false, tok.tokenId(BpeTokenizer.END_OF_TEXT), eos);
        Map<Integer, Integer> basis = new LinkedHashMap<>();
        for (int i = 0; i < chain.size(); i++) {
            basis.put(chain.get(i), i + 1);
        }
        int bases = chain.size() + 1;
        CheckpointModel model = CheckpointModel.lazy(config, tok, name -> {
            long[] shape = CheckpointModel.expectedShapes(config).get(name);
            float[] data = new float[Math.toIntExact(shape.length == 1 ? shape[0] : shape[0] * shape[1])];
            if (name.endsWith("norm.weight")) {
                java.util.Arrays.fill(data, 1f);
            } else if (name.equals("model.embed_tokens.weight")) {
                // rms 1: the normalized state is the embedding itself
                for (int t = 0; t < vocab; t++) {
                    data[t * hidden + basis.getOrDefault(t, 0)] = (float) Math.sqrt(hidden);
                }
            } else if (name.equals("lm_head.weight")) {
                for (int i = 0; i < chain.size(); i++) {
                    data[chain.get(i) * hidden + i] += CHAIN;
                }
                if (chainEnd && !chain.isEmpty()) {
                    data[eos * hidden + chain.size()] += CHAIN;
                }
                for (int t : favoured) {
                    for (int b = 0; b < bases; b++) {
                        data[t * hidden + b] += FAVOURED;
                    }
                }
            }
            return data;
        }, template);
        int[] types = new int[vocab];
        for (int i = 0; i < vocab; i++) {
            String text = tok.tokens().get(i);
            types[i] = extra.containsKey(text) ? extra.get(text) : tok.isSpecial(i) ? CONTROL : NORMAL;
        }
        try {
            Map<String, Object> meta = new LinkedHashMap<>(metadata);
            meta.put("tokenizer.ggml.token_type", types);
            GgufWriter.write(model, file, GgufWriter.Quantization.F32, meta);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}
