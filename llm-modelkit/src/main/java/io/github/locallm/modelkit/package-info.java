/** Writers of small model files (GGUF, safetensors, tokenizer.json) for tests, benchmarks and the demo model. */
package io.github.locallm.modelkit;
