/**
 * What a backend implements: an {@link io.github.locallm.spi.LlmProvider} found with
 * {@link java.util.ServiceLoader} that opens an {@link io.github.locallm.spi.LlmBackend}, which pushes
 * generated text into a {@link io.github.locallm.spi.TokenSink}.
 *
 * <p>The contract is deliberately narrow; core builds every convenience of the user API on it. Helpers
 * for common backend chores live here too, so that each rule is written once:
 * <ul>
 *   <li>{@link io.github.locallm.spi.DecodeLoop}: the decode loop of in-process backends (context check,
 *       token budget, stop sequences, cancellation, finish reason), driving a
 *       {@link io.github.locallm.spi.DecodeEngine} that only evaluates, samples and names token bytes;</li>
 *   <li>{@link io.github.locallm.spi.PromptEncoder}: renders a conversation through the chat template and
 *       tokenizes it so that message contents can never become control tokens;</li>
 *   <li>{@link io.github.locallm.spi.StopSequenceFilter}, {@link io.github.locallm.spi.PieceDecoder} and
 *       {@link io.github.locallm.spi.Utf8Decoder} for backends that stream text themselves.</li>
 * </ul>
 *
 * <p>A backend's conformance is checked by the provider TCK, the {@code llm-tck} artifact.
 */
package io.github.locallm.spi;
