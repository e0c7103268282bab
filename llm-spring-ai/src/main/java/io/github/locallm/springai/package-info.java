/**
 * Spring AI models backed by LocalLLM: {@link io.github.locallm.springai.LocalLlmChatModel} (blocking and
 * streaming chat, tool calls for Spring AI's tool-calling advisor) and
 * {@link io.github.locallm.springai.LocalLlmEmbeddingModel}; the Boot auto-configuration is in
 * {@code io.github.locallm.springai.autoconfigure}.
 */
package io.github.locallm.springai;
