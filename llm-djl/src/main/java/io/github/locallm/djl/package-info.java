/** The djl backend of LocalLLM for Java. */
package io.github.locallm.djl;
