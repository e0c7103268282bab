/**
 * LangChain4j models backed by LocalLLM: {@link io.github.locallm.langchain4j.LocalLlmChatModel},
 * {@link io.github.locallm.langchain4j.LocalLlmStreamingChatModel},
 * {@link io.github.locallm.langchain4j.LocalLlmEmbeddingModel} and
 * {@link io.github.locallm.langchain4j.LocalLlmTokenCountEstimator}, so that AI Services, chat memory and RAG
 * run on any backend of this SDK, in-process models included.
 */
package io.github.locallm.langchain4j;
