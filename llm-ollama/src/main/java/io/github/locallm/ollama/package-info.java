/** The ollama backend of LocalLLM for Java. */
package io.github.locallm.ollama;
