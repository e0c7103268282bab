/**
 * The {@code djl} backend: Hugging Face causal-LM checkpoints (Llama, Mistral, Qwen2) run in-process on
 * DJL's PyTorch engine, with a decoder written in NDArray operations, a key/value cache, sampling in Java,
 * the checkpoint's {@code tokenizer.json} through Hugging Face tokenizers and its chat template through
 * {@link io.github.locallm.template.ChatTemplate}. Only {@link io.github.locallm.djl.DjlProvider} is public;
 * use it through {@code LocalLlm.open("djl:/path/to/checkpoint")}.
 */
package io.github.locallm.djl;
