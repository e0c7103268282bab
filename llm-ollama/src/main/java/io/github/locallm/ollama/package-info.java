/**
 * The Ollama backend of LocalLLM for Java: a tolerant client of Ollama's REST API.
 *
 * <p>Public types: {@link io.github.locallm.ollama.OllamaProvider} (found by {@code ServiceLoader} for the
 * {@code ollama} scheme) and {@link io.github.locallm.ollama.OllamaClient} (model management). Everything
 * else is internal.
 */
package io.github.locallm.ollama;
