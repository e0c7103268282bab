/**
 * Runnable examples of LocalLLM for Java: {@link io.github.locallm.examples.QuickStart},
 * {@link io.github.locallm.examples.StreamingDemo}, {@link io.github.locallm.examples.Assistant} (the local
 * Python assistant), {@link io.github.locallm.examples.OllamaModels} and
 * {@link io.github.locallm.examples.JsonAndEmbeddings}.
 *
 * <p>Every program takes {@code --model SPEC} (a spec such as {@code ollama:qwen2.5:0.5b}, or a path to a
 * {@code .gguf} file or a checkpoint directory); without it the model is chosen automatically: a model of
 * the Ollama server on this machine, else the first {@code .gguf} file in {@code ./models}, else the
 * embedded tiny demo model. Run one with
 * {@code mvn -q -pl llm-examples exec:java -Dexec.mainClass=io.github.locallm.examples.QuickStart}.
 */
package io.github.locallm.examples;
