/** The llamacpp backend of LocalLLM for Java. */
package io.github.locallm.llamacpp;
