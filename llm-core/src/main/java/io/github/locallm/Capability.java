package io.github.locallm;

/** Something a loaded model can do; see {@link ModelInfo#capabilities()}. */
public enum Capability {
    /** Raw text completion of a prompt. */
    COMPLETION,
    /** Chat over a list of messages through the model's chat template. */
    CHAT,
    /** Exact tokenization ({@link LocalLlm#tokenize(String)}). */
    TOKENIZE,
    /** Embedding vectors. */
    EMBEDDINGS,
    /** Output constrained to JSON. */
    JSON_MODE,
    /** Output constrained to a JSON schema. */
    JSON_SCHEMA,
    /** Tool (function) calling. */
    TOOLS,
    /** Forcing a tool call: {@link ToolChoice#REQUIRED} or {@link ToolChoice#function(String)}. */
    TOOL_CHOICE,
    /** Separate reasoning ("thinking") text. */
    THINKING,
    /** Images in user messages. */
    VISION,
    /** Reproducible sampling with a seed. */
    SEED,
    /**
     * Fill-in-the-middle: a completion that writes the text between the prompt (the prefix) and a
     * {@link GenerationOptions#suffix() suffix}, for models trained with fill-in-the-middle tokens.
     */
    FILL_IN_MIDDLE
}
