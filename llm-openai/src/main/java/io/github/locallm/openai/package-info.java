/**
 * The OpenAI-compatible backend ({@code openai:} specs): llama.cpp's llama-server, vLLM, LM Studio,
 * LocalAI, Ollama's {@code /v1} and gateways, over one HTTP API. Only
 * {@link io.github.locallm.openai.OpenAiProvider} is public.
 */
package io.github.locallm.openai;
