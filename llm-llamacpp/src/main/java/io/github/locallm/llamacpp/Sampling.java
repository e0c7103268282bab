package io.github.locallm.llamacpp;

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
 */
record Sampling(Double temperature, Integer topK, Double topP, Double minP, Double repeatPenalty, Long seed,
                Map<String, Double> extra, String grammar, String jsonSchema, boolean cachePrompt) {

    double extra(String key, double fallback) {
        Double v = extra.get(key);
        return v == null ? fallback : v;
    }
}
