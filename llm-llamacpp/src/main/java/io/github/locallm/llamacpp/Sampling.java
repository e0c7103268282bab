package io.github.locallm.llamacpp;

import java.util.List;
import java.util.Map;

/**
 * A generation's sampling settings, validated: the shared {@code GenerationOptions} fields (each {@code null}
 * when unset, so the engine applies llama.cpp's default) and the {@code llamacpp.*} backend options.
 *
 * @param temperature   {@code temperature}, or {@code null}
 * @param topK          {@code top_k}, or {@code null}
 * @param topP          {@code top_p}, or {@code null}
 * @param minP          {@code min_p}, or {@code null}
 * @param repeatPenalty {@code repeat_penalty}, or {@code null}
 * @param seed          the seed folded into [0, 2^32 - 2], or {@code null} for a random one
 * @param extra         the backend options other than grammar and cache_prompt, by name (numbers)
 * @param grammar       a GBNF grammar (from {@code llamacpp.grammar} or JSON mode), or {@code null}
 * @param jsonSchema    a JSON schema (JSON text), or {@code null}
 * @param cachePrompt   whether the KV cache of the previous request's common prefix is reused
 * @param lazyPatterns  with a grammar: regular expressions whose first match in the output switches the grammar
 *                      on (a lazy grammar, for tool calls that may or may not come); empty for a grammar that
 *                      applies from the first token
 * @param lazyTokens    with a grammar: token ids that switch a lazy grammar on
 * @param markup        control tokens written as their text, by id: the markup of the model's chat format
 *                      (such as {@code <|python_tag|>}) when a chat-format parser reads the output; every other
 *                      control token has no text
 */
record Sampling(Double temperature, Integer topK, Double topP, Double minP, Double repeatPenalty, Long seed,
                Map<String, Double> extra, String grammar, String jsonSchema, boolean cachePrompt,
                List<String> lazyPatterns, int[] lazyTokens, Map<Integer, String> markup) {

    /** Sampling settings with a grammar that applies from the first token (or none). */
    Sampling(Double temperature, Integer topK, Double topP, Double minP, Double repeatPenalty, Long seed,
             Map<String, Double> extra, String grammar, String jsonSchema, boolean cachePrompt) {
        this(temperature, topK, topP, minP, repeatPenalty, seed, extra, grammar, jsonSchema, cachePrompt, List.of(),
                new int[0], Map.of());
    }

    /** Returns these settings with a lazy grammar: off until a trigger pattern or token appears. */
    Sampling withLazyGrammar(String lazyGrammar, List<String> patterns, int[] tokens) {
        return new Sampling(temperature, topK, topP, minP, repeatPenalty, seed, extra, lazyGrammar, jsonSchema,
                cachePrompt, List.copyOf(patterns), tokens.clone(), markup);
    }

    /** Returns these settings with the chat format's control tokens written as their text. */
    Sampling withMarkup(Map<Integer, String> markupTokens) {
        return new Sampling(temperature, topK, topP, minP, repeatPenalty, seed, extra, grammar, jsonSchema,
                cachePrompt, lazyPatterns, lazyTokens, Map.copyOf(markupTokens));
    }

    /** Whether the grammar is lazy (has triggers). */
    boolean lazy() {
        return !lazyPatterns.isEmpty() || lazyTokens.length > 0;
    }

    double extra(String key, double fallback) {
        Double v = extra.get(key);
        return v == null ? fallback : v;
    }
}
