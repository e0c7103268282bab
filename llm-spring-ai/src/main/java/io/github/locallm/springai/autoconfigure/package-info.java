/** Spring Boot auto-configuration of LocalLLM's Spring AI models from {@code locallm.*} properties. */
package io.github.locallm.springai.autoconfigure;
