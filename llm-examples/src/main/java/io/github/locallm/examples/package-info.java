/** Runnable examples of LocalLLM for Java. */
package io.github.locallm.examples;
