/**
 * The API of LocalLLM for Java: open a local model with {@link io.github.locallm.LocalLlm}, generate text
 * in blocking, streaming and asynchronous forms, and keep conversations in a {@link io.github.locallm.ChatSession}.
 *
 * <pre>{@code
 * try (LocalLlm llm = LocalLlm.open("ollama:llama3.2")) {
 *     Completion c = llm.generate("Why is the sky blue?", GenerationOptions.builder().maxTokens(64).build());
 *     System.out.println(c.text());
 * }
 * }</pre>
 *
 * <p>Value types ({@link io.github.locallm.Completion}, {@link io.github.locallm.ChatMessage},
 * {@link io.github.locallm.GenerationOptions}...) are immutable. Failures of a model or backend are
 * {@link io.github.locallm.LlmException}s; misuse is reported with the standard unchecked exceptions.
 */
package io.github.locallm;
