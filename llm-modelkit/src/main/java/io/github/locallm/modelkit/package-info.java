/**
 * Writers of small model files (GGUF, safetensors, tokenizer.json) for tests, benchmarks and the demo model,
 * and the plain-Java reference forward pass they are checked against.
 */
package io.github.locallm.modelkit;
