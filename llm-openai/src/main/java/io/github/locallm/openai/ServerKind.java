package io.github.locallm.openai;

import java.util.Locale;

/**
 * Which OpenAI-compatible server answers, as far as its extra endpoints tell; it decides the names of
 * the sampling extensions and which extra endpoints (tokenization, context length) can be used.
 */
enum ServerKind {
    /** llama.cpp's {@code llama-server}: {@code /props}, {@code /health}, {@code /tokenize}. */
    LLAMA_SERVER("llama-server", "repeat_penalty", true),
    /** vLLM: {@code /version}, {@code /tokenize}, {@code max_model_len} in {@code /v1/models}. */
    VLLM("vllm", "repetition_penalty", true),
    /** Ollama's OpenAI-compatible {@code /v1}. */
    OLLAMA("ollama", null, false),
    /** LM Studio's server ({@code /api/v0/models}). */
    LM_STUDIO("lmstudio", "repeat_penalty", true),
    /** Any other server that speaks the OpenAI API (LocalAI, a gateway, the LocalLLM server). */
    GENERIC("generic", "repeat_penalty", true);

    private final String id;
    private final String repeatPenaltyField;
    private final boolean samplingExtensions;

    ServerKind(String id, String repeatPenaltyField, boolean samplingExtensions) {
        this.id = id;
        this.repeatPenaltyField = repeatPenaltyField;
        this.samplingExtensions = samplingExtensions;
    }

    /** @return the name used in settings and {@code info().details()} */
    String id() {
        return id;
    }

    /** @return the request field for a repeat penalty, or {@code null} when the server has none */
    String repeatPenaltyField() {
        return repeatPenaltyField;
    }

    /** @return whether {@code top_k} and {@code min_p} are sent (the server takes them) */
    boolean samplingExtensions() {
        return samplingExtensions;
    }

    /** @return whether reasoning can be switched through {@code chat_template_kwargs.enable_thinking} */
    boolean templateKwargs() {
        return this == LLAMA_SERVER || this == VLLM;
    }

    static ServerKind parse(String value) {
        String v = value.strip().toLowerCase(Locale.ROOT);
        for (ServerKind k : values()) {
            if (k.id.equals(v)) {
                return k;
            }
        }
        if (v.equals("llama.cpp") || v.equals("llamacpp")) {
            return LLAMA_SERVER;
        }
        throw new IllegalArgumentException("server must be one of llama-server, vllm, ollama, lmstudio, generic"
                + " (or auto): '" + value + "'");
    }
}
