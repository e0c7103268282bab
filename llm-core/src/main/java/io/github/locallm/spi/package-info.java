/**
 * What a backend implements: an {@link io.github.locallm.spi.LlmProvider} found with
 * {@link java.util.ServiceLoader} that opens an {@link io.github.locallm.spi.LlmBackend}, which pushes
 * generated text into a {@link io.github.locallm.spi.TokenSink}.
 *
 * <p>The contract is deliberately narrow; core builds every convenience of the user API on it. Helpers
 * for common backend chores live here too: {@link io.github.locallm.spi.StopSequenceFilter} and
 * {@link io.github.locallm.spi.Utf8Decoder}. A backend's conformance is checked by the provider TCK shipped
 * in llm-core's test-jar.
 */
package io.github.locallm.spi;
