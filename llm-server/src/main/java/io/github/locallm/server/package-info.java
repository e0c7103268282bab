/**
 * An HTTP server over open models: the OpenAI-compatible API and the Ollama API, on Jetty's core
 * handlers. {@link io.github.locallm.server.LlmServer} is the library entry point,
 * {@link io.github.locallm.server.ServerMain} the command.
 */
package io.github.locallm.server;
